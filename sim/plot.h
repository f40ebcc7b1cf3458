/* Plots of a run, rendered by gnuplot (PNG and SVG): the send-to-handler latency CDF per
 * channel, and the stage breakdown per channel as stacked bars. The data files and the gnuplot
 * script stay next to the images, so a plot can be restyled and redrawn by hand. */
#ifndef EVSIM_SIM_PLOT_H
#define EVSIM_SIM_PLOT_H

#include <stdio.h>

#include "sim/diag.h"
#include "sim/machine.h"

/* Check dir can be written (before a run). 0 or -1 with d. */
int plot_check_dir(const char *dir, struct diag *d);
/* Write the data, the script, and run gnuplot. 0 or -1 with d. */
int plot_write(struct machine *m, const char *dir, struct diag *d);

/* dir/name opened for writing, or NULL with d ("PATH: cannot write: why"). */
FILE *plot_open(const char *dir, const char *name, struct diag *d);
/* Every plot is drawn twice, from one script: {gnuplot terminal, file extension}. */
#define PLOT_TERMS 2u
extern const char *const plot_terms[PLOT_TERMS][2];
/* Start plot `name` in a script: reset, terminal plot_terms[term], output name.ext. */
void plot_begin(FILE *f, unsigned term, const char *name);
/* Run `gnuplot plots.gp` in dir (its messages go to dir/gnuplot.log). 0 or -1 with d. */
int plot_run_gnuplot(const char *dir, struct diag *d);

#endif
