/*
 * Prints the configuration keys the parser knows, one a line, so that the
 * documentation tests can compare them with trestle.conf(5) and
 * etc/trestle.conf.
 */
#include "config.h"

#include <stdio.h>

#include "conf.h"

int
main(void)
{
	const char *name;

	for (size_t i = 0; (name = conf_key_name(i)) != NULL; i++)
		printf("%s\n", name);
	return 0;
}
