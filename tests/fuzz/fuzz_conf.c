/*
 * Configuration parsing: the input is a configuration file, read by
 * conf_load (parse, then validate) and conf_load_partial (parse only, keep
 * what could be read).  The file is a memfd, so no disk is touched; no
 * TRESTLE_* variable is set, so the environment adds nothing.
 */
#include "config.h"

#include <sys/mman.h>

#include <stdio.h>
#include <unistd.h>

#include "conf.h"
#include "fuzz.h"

static int conf_fd = -1;
static char conf_path[64];

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	fuzz_quiet_logs();
	for (size_t i = 0; conf_key_name(i) != NULL; i++) {
		char var[128];

		snprintf(var, sizeof(var), "TRESTLE_%s", conf_key_name(i));
		for (char *p = var; *p != '\0'; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		unsetenv(var);
	}
	unsetenv("DATABASE_URL");
	if ((conf_fd = memfd_create("fuzz_conf", 0)) == -1)
		abort();
	snprintf(conf_path, sizeof(conf_path), "/proc/self/fd/%d", conf_fd);
	return 0;
}

static void
conf_write(const uint8_t *data, size_t size)
{
	if (ftruncate(conf_fd, 0) == -1 || pwrite(conf_fd, data, size, 0) != (ssize_t)size)
		abort();
}

/* What every loaded configuration must satisfy, whatever the file said. */
static void
conf_check(const struct conf *cf)
{
	if (cf->listen == NULL || cf->mcp_path == NULL || cf->log_level == NULL ||
	    cf->workers < 1 || cf->workers > 64 || cf->max_body_bytes < 1024)
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf_errors errs;
	struct conf cf;

	conf_write(data, size);
	if (conf_load(&cf, conf_path, &errs) == 0) {
		conf_check(&cf);
		if (cf.mcp_path[0] != '/' || errs.count != 0)
			abort();	/* validation let it through */
	} else if (errs.count == 0 || strlen(errs.text) >= sizeof(errs.text))
		abort();
	conf_free(&cf);
	conf_load_partial(&cf, conf_path, &errs);	/* keeps what it read, even on -1 */
	conf_check(&cf);
	conf_free(&cf);
	return 0;
}
