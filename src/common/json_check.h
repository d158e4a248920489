/*
 * Whether a text is standard JSON, without building it: for an answer that
 * is passed on as it is, a check costs a fraction of a parse and allocates
 * nothing.
 */
#ifndef TRESTLE_JSON_CHECK_H
#define TRESTLE_JSON_CHECK_H

#include <stdbool.h>
#include <stddef.h>

/* Nesting deeper than this is refused, as json-c's parser refuses it. */
#define JSON_CHECK_MAX_DEPTH	32

/*
 * Whether text[0..len) is exactly one JSON object (RFC 8259: strict syntax,
 * well-formed UTF-8, no NUL byte), with nothing but white space around it.
 */
bool	json_check_object(const char *text, size_t len);

#endif
