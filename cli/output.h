/*
 * output.h: where one URL's response goes (output.c).
 */
#ifndef HPOOL_CLI_OUTPUT_H
#define HPOOL_CLI_OUTPUT_H

#include "cli.h"

struct output {
	const struct opts	*o;
	const struct target	*t;
	struct xfer		*x;
	FILE			*fp;	/* NULL until the first byte */
	int			 to_stdout;
	int			 written;	/* something reached fp */
	char			*name;	/* the file, NULL: stdout */
};

void	 output_init(struct output *, const struct opts *,
	    const struct target *, struct xfer *);
int	 output_resume(struct output *, int64_t *at);
int	 output_head(struct output *, hpool_response *);
int	 output_body(struct output *, hpool_response *, int status,
	    int64_t resume_at);
int	 output_close(struct output *, int ex);
void	 output_print_head(FILE *, const char *prefix, hpool_response *,
	    int escape);

#endif
