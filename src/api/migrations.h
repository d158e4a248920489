/* The schema, applied idempotently when the API child starts. */
#ifndef TRESTLE_MIGRATIONS_H
#define TRESTLE_MIGRATIONS_H

/* Apply every migration on a short-lived blocking connection; 0 on success, else -1 and errbuf. */
int	migrations_apply(const char *conninfo, char *errbuf, size_t cap);

#endif
