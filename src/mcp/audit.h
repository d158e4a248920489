/*
 * The audit log: one JSON object a line for every call of a tool that
 * changes data — when, who (the subject), which tool, which item, how it
 * ended and its correlation id.  Never a token, a secret or the data itself.
 * Lines go to audit_log_file, or with "type":"audit" into the main log.
 */
#ifndef TRESTLE_AUDIT_H
#define TRESTLE_AUDIT_H

#include <stddef.h>

struct audit_record {
	const char	*subject;
	const char	*tool;
	const char	*uid;		/* NULL: none (a create that failed) */
	const char	*outcome;	/* "ok", "refused", "invalid_arguments", "unavailable", "cancelled" */
	long		 status;	/* the API child's HTTP status; 0: none */
	const char	*correlation_id;
};

/* path NULL or "": the main log.  -1 and err when the file cannot be opened. */
int	audit_open(const char *path, char *err, size_t cap);
/* After a rotation: reopen by name, keep the old descriptor on failure. */
void	audit_reopen(void);
void	audit_close(void);
void	audit_write(const struct audit_record *);
/* The outcome word for an API child's status (0: no answer). */
const char *audit_outcome(long status);

#endif
