/* sdk/examples/standalone_exporter.c — a program that serves its own /metrics with
 * libignis: a counter, a labelled histogram, the process collector, and the exposer.
 * Build: cc standalone_exporter.c $(pkg-config --cflags --libs ignis)
 * Run:   ./standalone_exporter 127.0.0.1:9100 [seconds]; curl localhost:9100/metrics */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <ignis/metrics.h>
#include <ignis/expose.h>

int main(int argc, char **argv)
{
    const char *addr = argc > 1 ? argv[1] : "127.0.0.1:9100";
    int seconds = argc > 2 ? atoi(argv[2]) : 60;
    struct ignis_registry *reg = ignis_registry_default();
    char err[256];

    struct ignis_counter *ticks = ignis_counter_new(reg, &(struct ignis_metric_opts){
        .name = "example_ticks_total", .help = "Ticks of the main loop."}, err, sizeof err);
    struct ignis_histogram_vec *work = ignis_histogram_vec_new(reg, &(struct ignis_metric_opts){
        .name = "example_work_duration_seconds", .help = "Time spent on work, by kind.",
        .unit = "seconds", .label_names = (const char *[]){"kind"}, .nlabels = 1}, err,
        sizeof err);
    if (!ticks || !work || ignis_process_collector_register(reg) < 0) {
        fprintf(stderr, "registering metrics: %s\n", err);
        return 1;
    }
    struct ignis_exposer *x = ignis_exposer_start(addr, reg, err, sizeof err);
    if (!x) {
        fprintf(stderr, "%s\n", err);
        return 1;
    }
    printf("serving http://%s/metrics (port %d)\n", addr, ignis_exposer_port(x));
    fflush(stdout);
    for (int i = 0; i < seconds * 10; i++) {
        ignis_counter_inc(ticks);
        ignis_histogram_observe(ignis_histogram_vec_with(work, i % 2 ? "odd" : "even"),
                                (i % 7) * 0.01);
        usleep(100000);
    }
    ignis_exposer_stop(x);
    return 0;
}
