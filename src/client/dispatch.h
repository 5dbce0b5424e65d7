/* backup, restore and info: seed flags rewritten, then through the
 * cluster manager or locally (`local`, the command's own implementation). */
#ifndef STRATA_DISPATCH_H
#define STRATA_DISPATCH_H

int dispatch_backup(int argc, char **argv, int (*local)(int, char **));
int dispatch_restore(int argc, char **argv, int (*local)(int, char **));
int dispatch_info(int argc, char **argv, int (*local)(int, char **));

#endif
