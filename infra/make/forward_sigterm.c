/* A GNU make plugin for `make run` (see the Makefile): SIGTERM to make is passed on to make's children, and make
 * then ends with their status, as a program run directly would.
 *
 * GNU make handles SIGTERM itself: it passes it on to its children, waits for them, and then kills itself with the
 * same signal, so `make run` exits 143 however cleanly the stack stopped. This handler replaces make's: it only
 * sends SIGTERM to make's direct children (the recipe, which `exec`s the stack) and returns; make goes on waiting
 * and exits 0 when the stack exits 0. Only async-signal-safe calls (open, read, close, getdents64, kill). Linux.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

int plugin_is_GPL_compatible;

struct linux_dirent64 {
    unsigned long long d_ino;
    long long d_off;
    unsigned short d_reclen;
    unsigned char d_type;
    char d_name[];
};

static long parent_of(const char *pid) {
    char path[64] = "/proc/";
    size_t len = strlen(pid);
    if (len > 20) return -1;
    memcpy(path + 6, pid, len);
    memcpy(path + 6 + len, "/stat", 6);
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    char stat[512];
    ssize_t got = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (got <= 0) return -1;
    stat[got] = 0;
    char *p = strrchr(stat, ')'); /* "pid (comm) state ppid ...": comm may hold spaces and parentheses */
    if (!p || !p[1] || !p[2] || !p[3]) return -1;
    p += 4;
    long ppid = 0;
    while (*p >= '0' && *p <= '9') ppid = ppid * 10 + (*p++ - '0');
    return ppid;
}

static void forward(int sig) {
    (void)sig;
    long self = (long)getpid();
    int dir = open("/proc", O_RDONLY | O_DIRECTORY);
    if (dir < 0) return;
    char buf[4096];
    long n;
    while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
        for (long off = 0; off < n;) {
            struct linux_dirent64 *entry = (struct linux_dirent64 *)(buf + off);
            off += entry->d_reclen;
            if (entry->d_name[0] < '0' || entry->d_name[0] > '9') continue;
            if (parent_of(entry->d_name) != self) continue;
            long pid = 0;
            for (const char *q = entry->d_name; *q; q++) pid = pid * 10 + (*q - '0');
            kill((pid_t)pid, SIGTERM);
        }
    }
    close(dir);
}

int forward_sigterm_gmk_setup(void) {
    struct sigaction action;
    memset(&action, 0, sizeof action);
    action.sa_handler = forward;
    action.sa_flags = SA_RESTART;
    sigaction(SIGTERM, &action, 0);
    return 1;
}
