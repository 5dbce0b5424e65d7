/* A backup chain: an incremental (or differential) backup and the backups
 * it builds on, down to a full one, loaded and checked before a restore
 * or a verify writes or trusts anything. */
#ifndef STRATA_RESTORE_CHAIN_H
#define STRATA_RESTORE_CHAIN_H

#include "pool/keys.h"
#include "pool/manifest.h"

typedef struct ChainMember
{
    const Manifest *m;           /* &owned, or the tip (the caller's) */
    Manifest owned;
    DataKey key;                 /* when m.cipher is set */
    const ManifestFile **by_path;   /* its files (not skipped), sorted by path */
    size_t nfiles;
} ChainMember;

typedef struct BackupChain
{
    ChainMember *members;        /* members[0]: the full; members[count - 1]: the tip */
    size_t count;
} BackupChain;

/* Loads tip's ancestors (following parent) and each member's data key when
 * load_keys (restore; verify needs none to check stored bytes). The tip's
 * manifest is borrowed: it must outlive the chain. A missing, incomplete or
 * inconsistent ancestor is an error naming it. */
int backup_chain_load(Pool *p, const Manifest *tip, bool load_keys, BackupChain *out, Error *err);
void backup_chain_free(BackupChain *c);
/* The entry of `path` in member i, NULL if none. */
const ManifestFile *backup_chain_file(const BackupChain *c, size_t i, const char *path);
/* For the tip's entry f: the index of the member holding it whole (the
 * base the blocks of every later member are laid on); -1 and err if a
 * referenced entry is missing. */
int backup_chain_base(const BackupChain *c, const ManifestFile *f, size_t *base, Error *err);

#endif
