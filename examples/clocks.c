/* clocks: reads the realtime and monotonic clocks and their resolutions, sleeps 50 ms
   (poll_oneoff with a clock subscription) and checks the monotonic clock moved by at least that. */
#include <stdio.h>
#include <time.h>
#include <unistd.h>

static long long ns(struct timespec t) {
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

int main(void) {
    struct timespec rt, res, t0, t1;
    clock_gettime(CLOCK_REALTIME, &rt);
    printf("realtime_s=%lld\n", (long long)rt.tv_sec);
    printf("realtime after 2020: %s\n", rt.tv_sec > 1577836800LL ? "yes" : "no");
    clock_getres(CLOCK_MONOTONIC, &res);
    printf("monotonic resolution positive: %s\n", ns(res) > 0 ? "yes" : "no");
    clock_gettime(CLOCK_MONOTONIC, &t0);
    struct timespec nap = {0, 50 * 1000 * 1000};
    nanosleep(&nap, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    long long slept = ns(t1) - ns(t0);
    printf("slept_ms=%lld\n", slept / 1000000);
    printf("slept at least 50 ms: %s\n", slept >= 50000000LL ? "yes" : "no");
    usleep(1000);
    time_t now = time(NULL);
    struct tm *tm = gmtime(&now);
    printf("year=%d\n", tm->tm_year + 1900);
    return 0;
}
