#include "common/spawn.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

int
spawn_wait(char *const argv[], const char *log_path, Error *err)
{
    pid_t child = fork();
    if (child < 0)
        return error_errno(err, "cannot fork to run %s", argv[0]);
    if (child == 0)
    {
        int out = open(log_path ? log_path : "/dev/null", O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (out >= 0)
        {
            dup2(out, STDOUT_FILENO);
            dup2(out, STDERR_FILENO);
            close(out);
        }
        execv(argv[0], argv);
        _exit(127);
    }
    int status;
    while (waitpid(child, &status, 0) < 0)
        if (errno != EINTR)
            return error_errno(err, "waiting for %s", argv[0]);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return 0;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return error_set(err, "cannot run %s (not found or not executable)", argv[0]);
    return error_set(err, "%s failed (%s %d)%s%s", argv[0], WIFEXITED(status) ? "exit" : "signal",
                     WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status), log_path ? "; see " : "",
                     log_path ? log_path : "");
}
