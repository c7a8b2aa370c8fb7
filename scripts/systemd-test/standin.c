/*
 * A stand-in for `outpostwatch run`, used only to develop scripts/systemd-test.sh before the
 * real daemon exists. It behaves like the daemon towards systemd (SPEC section 7), so every
 * unit-level check can be exercised:
 *
 *   - reads --config PATH; a missing file, or one containing the token `standin_exit_78`,
 *     is a configuration error: one FILE:LINE:COL line on stderr, exit 78;
 *   - `standin_ready_delay_ms=N` in the config delays READY=1 by N ms (default 1000), so the
 *     harness can tell that systemd waited for READY=1 rather than for the fork;
 *   - READY=1 with STATUS=, then WATCHDOG=1 at half of $WATCHDOG_USEC from the main loop;
 *   - SIGHUP: RELOADING=1, re-read the config, keep the old one if the new one is broken, READY=1;
 *   - SIGTERM: STOPPING=1, exit 0;
 *   - keeps a file `standin.state` in $STATE_DIRECTORY counting its starts;
 *   - logs a structured journal entry with a MESSAGE_ID that the stand-in catalog documents.
 *
 * Built on the host against libsystemd (same glibc as the bookworm rootfs):
 *   gcc -O2 -Wall -o standin standin.c $(pkg-config --cflags --libs libsystemd)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>

/* Documented by scripts/systemd-test/standin.catalog. */
#define STANDIN_STARTED_ID "0f3c8a3e5d4b4e6fa1d2c3b4a5968778"

struct config {
    int broken;
    long ready_delay_ms;
};

static int read_config(const char *path, struct config *out) {
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "%s:1:1: cannot read the configuration: %s\n", path, strerror(errno));
        return -1;
    }
    struct config c = { .broken = 0, .ready_delay_ms = 1000 };
    char line[512];
    int lineno = 0;
    while (fgets(line, sizeof line, f)) {
        lineno++;
        char *hit = strstr(line, "standin_exit_78");
        if (hit) {
            fprintf(stderr, "%s:%d:%d: stand-in told to fail (standin_exit_78)\n",
                    path, lineno, (int)(hit - line) + 1);
            c.broken = 1;
        }
        hit = strstr(line, "standin_ready_delay_ms=");
        if (hit) c.ready_delay_ms = strtol(hit + strlen("standin_ready_delay_ms="), NULL, 10);
    }
    fclose(f);
    *out = c;
    return c.broken ? -1 : 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {}
}

static long bump_start_count(void) {
    const char *dir = getenv("STATE_DIRECTORY");
    if (!dir) return -1;
    char path[4096];
    snprintf(path, sizeof path, "%s/standin.state", dir);
    long count = 0;
    FILE *f = fopen(path, "r");
    if (f) {
        if (fscanf(f, "%ld", &count) != 1) count = 0;
        fclose(f);
    }
    count++;
    f = fopen(path, "w");
    if (!f) return -1;
    fprintf(f, "%ld\n", count);
    fclose(f);
    return count;
}

int main(int argc, char **argv) {
    const char *config_path = "/etc/outpostwatch/config.toml";
    const char *command = argc > 1 ? argv[1] : "";
    for (int i = 2; i < argc; i++)
        if (strcmp(argv[i], "--config") == 0 && i + 1 < argc) config_path = argv[++i];

    struct config config;
    if (strcmp(command, "check-config") == 0) return read_config(config_path, &config) == 0 ? 0 : 78;
    if (strcmp(command, "run") != 0) {
        fprintf(stderr, "usage: %s run|check-config [--config PATH]\n", argv[0]);
        return 64;
    }
    if (read_config(config_path, &config) != 0) return 78;

    sigset_t handled;
    sigemptyset(&handled);
    sigaddset(&handled, SIGTERM);
    sigaddset(&handled, SIGINT);
    sigaddset(&handled, SIGHUP);
    sigprocmask(SIG_BLOCK, &handled, NULL);

    long starts = bump_start_count();
    sleep_ms(config.ready_delay_ms); /* "opening the store", observable from outside */
    sd_journal_send("MESSAGE=outpostwatch stand-in started (start %ld)", starts,
                    "MESSAGE_ID=" STANDIN_STARTED_ID, "PRIORITY=5",
                    "SYSLOG_IDENTIFIER=outpostwatch", "STANDIN_STARTS=%ld", starts, NULL);
    sd_notify(0, "READY=1\nSTATUS=watching 0 orders (stand-in)");

    uint64_t watchdog_usec = 0;
    long tick_ms = 1000;
    if (sd_watchdog_enabled(0, &watchdog_usec) > 0 && watchdog_usec > 0)
        tick_ms = (long)(watchdog_usec / 2000);

    for (;;) {
        struct timespec timeout = { .tv_sec = tick_ms / 1000, .tv_nsec = (tick_ms % 1000) * 1000000L };
        int sig = sigtimedwait(&handled, NULL, &timeout);
        if (sig == -1) {
            if (watchdog_usec) sd_notify(0, "WATCHDOG=1");
            continue;
        }
        if (sig == SIGHUP) {
            struct timespec now;
            clock_gettime(CLOCK_MONOTONIC, &now);
            sd_notifyf(0, "RELOADING=1\nMONOTONIC_USEC=%llu",
                       (unsigned long long)now.tv_sec * 1000000ULL + (unsigned long long)now.tv_nsec / 1000ULL);
            struct config fresh;
            if (read_config(config_path, &fresh) == 0) config = fresh;
            else fprintf(stderr, "keeping the previous configuration\n");
            sd_notify(0, "READY=1\nSTATUS=watching 0 orders (stand-in, reloaded)");
            continue;
        }
        sd_notify(0, "STOPPING=1\nSTATUS=stopping");
        return 0;
    }
}
