#include "sim/plot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <limits.h>
#include <unistd.h>

#define PLOT_MAX_CHANNELS 16

int plot_check_dir(const char *dir, struct diag *d)
{
    struct stat st;
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return diag_set(d, "--plot %s: cannot create the directory: %s", dir, strerror(errno));
    if (stat(dir, &st) != 0 || !S_ISDIR(st.st_mode))
        return diag_set(d, "--plot %s: not a directory", dir);
    return 0;
}

/* A distribution to draw: its label and its samples (cycles). */
struct series {
    char label[48];
    struct samples *s;
};

/* The event channels with events, in domain and port order, at most PLOT_MAX_CHANNELS; with
 * their stage breakdowns (per event) in stage[] when asked. */
static unsigned channels(struct machine *m, struct series *out, struct stage_port **ports)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->nr_dom && n < PLOT_MAX_CHANNELS; i++) {
        struct stage_domain *sd = &m->dom[i].stages;
        for (uint32_t port = 0; port < sd->nr_ports && n < PLOT_MAX_CHANNELS; port++)
            if (sd->port[port].e2e.n) {
                snprintf(out[n].label, sizeof(out[n].label), "d%u port %u", m->dom[i].d->domid,
                         port);
                out[n].s = &sd->port[port].e2e;
                ports[n++] = &sd->port[port];
            }
    }
    return n;
}

/* The ioreq servers whose requests made round trips, at most PLOT_MAX_CHANNELS. */
static unsigned servers(struct machine *m, struct series *out, struct rt_server **rs)
{
    unsigned n = 0;
    for (unsigned i = 0; i < m->nr_dom && n < PLOT_MAX_CHANNELS; i++)
        for (unsigned id = 0; id < MAX_NR_IOREQ_SERVERS && n < PLOT_MAX_CHANNELS; id++) {
            struct rt_server *r = &m->dom[i].ioreq_rt.server[id];
            if (!r->round_trip.n)
                continue;
            snprintf(out[n].label, sizeof(out[n].label), "d%u server %u", m->dom[i].d->domid, id);
            out[n].s = &r->round_trip;
            rs[n++] = r;
        }
    return n;
}

FILE *plot_open(const char *dir, const char *name, struct diag *d)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (!f)
        diag_set(d, "%s: cannot write: %s", path, strerror(errno));
    return f;
}

const char *const plot_terms[PLOT_TERMS][2] = {{"png size 1000,600", "png"},
                                               {"svg size 1000,600 dynamic", "svg"}};

void plot_begin(FILE *f, unsigned term, const char *name)
{
    fprintf(f, "reset\nset terminal %s noenhanced\nset output '%s.%s'\n", plot_terms[term][0], name,
            plot_terms[term][1]);
}

/* One gnuplot data block per series: latency (ns), fraction of the samples at or below it. */
static int write_cdf(struct machine *m, const char *name, const struct series *c, unsigned n,
                     const char *dir, struct diag *d)
{
    FILE *f = plot_open(dir, name, d);
    if (!f)
        return -1;
    for (unsigned i = 0; i < n; i++) {
        struct samples *s = c[i].s;
        samples_distribution(s); /* sorts */
        fprintf(f, "# %s: latency (ns), cumulative fraction\n", c[i].label);
        for (size_t k = 0; k < s->n; k++)
            fprintf(f, "%" PRIu64 " %.6f\n", cost_cycles_to_ns(m->cost, s->v[k]),
                    (double)(k + 1) / (double)s->n);
        fprintf(f, "\n\n");
    }
    return fclose(f) == 0 ? 0 : diag_set(d, "--plot %s: write failed", dir);
}

/* One row per channel: the cycles every stage adds to an average event. */
static int write_stages(const struct series *c, struct stage_port **p, unsigned n, const char *dir,
                        struct diag *d)
{
    FILE *f = plot_open(dir, "stages.dat", d);
    if (!f)
        return -1;
    fprintf(f, "channel");
    for (unsigned k = 0; k < ST_COUNT; k++)
        fprintf(f, " %s", stage_names[k]);
    fprintf(f, "\n");
    for (unsigned i = 0; i < n; i++) {
        fprintf(f, "\"%s\"", c[i].label);
        for (unsigned k = 0; k < ST_COUNT; k++)
            fprintf(f, " %" PRIu64, stage_per_event(p[i], (enum stage)k));
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : diag_set(d, "--plot %s: write failed", dir);
}

/* One row per ioreq server: the mean cycles of each stage of its round trips. */
static int write_ioreq_stages(const struct series *c, struct rt_server **r, unsigned n,
                              const char *dir, struct diag *d)
{
    FILE *f = plot_open(dir, "ioreq_stages.dat", d);
    if (!f)
        return -1;
    fprintf(f, "server");
    for (unsigned k = 0; k < RT_STAGES; k++)
        fprintf(f, " %s", rt_stage_names[k]);
    fprintf(f, "\n");
    for (unsigned i = 0; i < n; i++) {
        fprintf(f, "\"%s\"", c[i].label);
        for (unsigned k = 0; k < RT_STAGES; k++)
            fprintf(f, " %" PRIu64, samples_distribution(&r[i]->stage[k]).mean);
        fprintf(f, "\n");
    }
    return fclose(f) == 0 ? 0 : diag_set(d, "--plot %s: write failed", dir);
}

static void script_cdf(FILE *f, unsigned term, const char *name, const char *title,
                       const char *what, const struct series *c, unsigned n)
{
    plot_begin(f, term, name);
    fprintf(f,
            "set title '%s'\nset xlabel 'latency (ns)'\n"
            "set ylabel 'fraction of %s'\nset yrange [0:1.05]\nset grid\n"
            "set key bottom right\n",
            title, what);
    fprintf(f, "plot ");
    for (unsigned i = 0; i < n; i++)
        fprintf(f, "%s'%s.dat' index %u using 1:2 with steps lw 2 title '%s'",
                i ? ", \\\n     " : "", name, i, c[i].label);
    fprintf(f, "\n");
}

static void script_stacked(FILE *f, unsigned term, const char *name, const char *title,
                           unsigned columns)
{
    plot_begin(f, term, name);
    fprintf(f,
            "set title '%s'\n"
            "set ylabel 'cycles'\nset style data histograms\n"
            "set style histogram rowstacked\nset style fill solid 0.8 border -1\n"
            "set boxwidth 0.7\nset key outside right\nset grid ytics\n"
            "set xtics rotate by -30\nunset xlabel\n",
            title);
    fprintf(f, "plot '%s.dat' using 2:xtic(1) title columnheader(2)", name);
    for (unsigned k = 1; k < columns; k++)
        fprintf(f, ", '' using %u title columnheader(%u)", k + 2, k + 2);
    fprintf(f, "\n");
}

static int write_script(const struct series *c, unsigned n, const struct series *io, unsigned nio,
                        const char *dir, struct diag *d)
{
    FILE *f = plot_open(dir, "plots.gp", d);
    if (!f)
        return -1;
    fprintf(f, "# Written by evsim run --plot; redraw with `gnuplot plots.gp` in this folder\n");
    for (unsigned t = 0; t < PLOT_TERMS; t++) {
        if (n) {
            script_cdf(f, t, "latency_cdf", "Send-to-handler latency per channel", "events", c, n);
            script_stacked(f, t, "stages", "Where the cycles of an event go (mean per event)",
                           ST_COUNT);
        }
        if (nio) {
            script_cdf(f, t, "ioreq_round_trip",
                       "Ioreq round trip per server (exit to the guest "
                       "running again)",
                       "requests", io, nio);
            script_stacked(f, t, "ioreq_stages", "Where the cycles of a round trip go (mean)",
                           RT_STAGES);
        }
    }
    return fclose(f) == 0 ? 0 : diag_set(d, "--plot %s: write failed", dir);
}

/* gnuplot, in dir, its messages in gnuplot.log, which is kept only when gnuplot fails (a
 * results folder must not collect logs); no shell, so any directory name works. */
int plot_run_gnuplot(const char *dir, struct diag *d)
{
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        int log = -1;
        if (chdir(dir) == 0)
            log = open("gnuplot.log", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (log >= 0) {
            dup2(log, STDERR_FILENO);
            dup2(log, STDOUT_FILENO);
            execlp("gnuplot", "gnuplot", "plots.gp", (char *)NULL);
        }
        _exit(127);
    }
    int status = 0;
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
        return diag_set(d, "%s: gnuplot failed (is gnuplot-nox installed? see %s/gnuplot.log)", dir,
                        dir);
    char log[PATH_MAX];
    if ((size_t)snprintf(log, sizeof(log), "%s/gnuplot.log", dir) < sizeof(log))
        unlink(log);
    return 0;
}

int plot_write(struct machine *m, const char *dir, struct diag *d)
{
    struct series c[PLOT_MAX_CHANNELS], io[PLOT_MAX_CHANNELS];
    struct stage_port *ports[PLOT_MAX_CHANNELS];
    struct rt_server *rs[PLOT_MAX_CHANNELS];
    unsigned n = channels(m, c, ports), nio = servers(m, io, rs);
    if (n == 0 && nio == 0)
        return diag_set(d,
                        "--plot %s: no event reached a handler and no ioreq made a round "
                        "trip: nothing to plot",
                        dir);
    if ((n && (write_cdf(m, "latency_cdf.dat", c, n, dir, d) < 0 ||
               write_stages(c, ports, n, dir, d) < 0)) ||
        (nio && (write_cdf(m, "ioreq_round_trip.dat", io, nio, dir, d) < 0 ||
                 write_ioreq_stages(io, rs, nio, dir, d) < 0)) ||
        write_script(c, n, io, nio, dir, d) < 0)
        return -1;
    return plot_run_gnuplot(dir, d);
}
