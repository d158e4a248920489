/*
 * trestlectl: the administration command of trestled.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf.h"

#define EXIT_NOT_RUNNING 3

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: trestlectl [-c FILE] command\n"
	    "commands:\n"
	    "  check     check the configuration (trestled -t)\n"
	    "options:\n"
	    "  -c FILE   the configuration file (default %s/trestle.conf)\n"
	    "  -h        this help\n"
	    "  -V        the version\n", SYSCONFDIR);
}

static int
ctl_check(const char *path)
{
	struct conf cf;
	struct conf_errors errs;

	if (conf_load(&cf, path, &errs) == -1) {
		fputs(errs.text, stderr);
		conf_free(&cf);
		return CONF_EXIT_INVALID;
	}
	conf_free(&cf);
	printf("configuration OK\n");
	return 0;
}

static const char *
ctl_default_config(void)
{
	static char path[4096];

	snprintf(path, sizeof(path), "%s/trestle.conf", SYSCONFDIR);
	return access(path, F_OK) == 0 ? path : NULL;
}

int
main(int argc, char **argv)
{
	const char *config = NULL;
	int ch;

	if (argc > 1 && strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	if (argc > 1 && strcmp(argv[1], "--version") == 0) {
		printf("trestlectl %s\n", PACKAGE_VERSION);
		return 0;
	}
	while ((ch = getopt(argc, argv, "c:hV")) != -1) {
		switch (ch) {
		case 'c':
			config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("trestlectl %s\n", PACKAGE_VERSION);
			return 0;
		default:
			usage(stderr);
			return 64;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 64;
	}
	if (strcmp(argv[optind], "check") == 0)
		return ctl_check(config != NULL ? config : ctl_default_config());
	fprintf(stderr, "trestlectl: unknown command '%s'\n", argv[optind]);
	usage(stderr);
	return 64;
}
