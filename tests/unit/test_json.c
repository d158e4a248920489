/*
 * The JSON text helpers of src/common: json_check_object, which decides
 * whether an answer may be passed on as it is, and the jsonstr writer.
 * What json_check_object accepts must also be an object to json-c's strict
 * parser (what a client's parser reads); it refuses more than json-c does.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "codec.h"
#include "json_check.h"
#include "jsonstr.h"
#include "tap.h"

/* What json-c's strict parser reads from text[0..len), or NULL. */
static json_object *
json_c_strict(const char *text, size_t len)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *obj;

	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	obj = json_tokener_parse_ex(tok, text, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success) {
		json_object_put(obj);
		obj = NULL;
	}
	json_tokener_free(tok);
	return obj;
}

static int
json_c_strict_object(const char *text, size_t len)
{
	json_object *obj = json_c_strict(text, len);
	int good = json_object_is_type(obj, json_type_object);

	json_object_put(obj);
	return good;
}

static const struct {
	const char	*text;
	const char	*why;
} accepted[] = {
	{ "{}", "an empty object" },
	{ " \t\r\n{ } \n", "white space around and inside" },
	{ "{\"a\":1}", "one member" },
	{ "{\"uid\":\"00000000-0000-4000-8000-000000000001\",\"title\":\"T\",\"n\":null,"
	    "\"t\":true,\"f\":false,\"x\":-0.5e+10,\"y\":0,\"z\":12E-3,\"arr\":[1,[],{}]}",
	    "every kind of value" },
	{ "{ \"a\" : [ 1 , 2 ] , \"b\" : { \"c\" : \"d\" } }", "white space between tokens" },
	{ "{\"e\":\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u00e9 \\uD83D\\uDE00\"}", "every escape" },
	{ "{\"utf8\":\"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xed\x9f\xbf \xf4\x8f\xbf\xbf\"}",
	    "UTF-8 of two, three and four bytes, up to the edges" },
	{ "{\"del\":\"\x7f\"}", "DEL, which JSON allows raw" },
};

static const struct {
	const char	*text;
	const char	*why;
} refused[] = {
	{ "", "nothing" },
	{ "   ", "only white space" },
	{ "[]", "an array" },
	{ "\"s\"", "a string" },
	{ "1", "a number" },
	{ "null", "null" },
	{ "{", "an unclosed object" },
	{ "{\"a\":1", "a member without the closing brace" },
	{ "{\"a\":1}}", "a second closing brace" },
	{ "{\"a\":1} {}", "a second value" },
	{ "{\"a\":1} x", "garbage after the object" },
	{ "{'a':1}", "single quotes" },
	{ "{a:1}", "a bare name" },
	{ "{\"a\":1,}", "a trailing comma in an object" },
	{ "{\"a\":[1,]}", "a trailing comma in an array" },
	{ "{,}", "a lone comma" },
	{ "{\"a\" 1}", "a missing colon" },
	{ "{\"a\":}", "a missing value" },
	{ "{\"a\":01}", "a leading zero" },
	{ "{\"a\":1.}", "a fraction without digits" },
	{ "{\"a\":.5}", "a fraction without an integer part" },
	{ "{\"a\":1e}", "an exponent without digits" },
	{ "{\"a\":-}", "a lone minus" },
	{ "{\"a\":+1}", "a plus sign" },
	{ "{\"a\":NaN}", "NaN" },
	{ "{\"a\":Infinity}", "Infinity" },
	{ "{\"a\":tru}", "a cut literal" },
	{ "{\"a\":True}", "a capital literal" },
	{ "{\"a\":nul}", "a cut null" },
	{ "{\"a\":\"x}", "an unclosed string" },
	{ "{\"a\":\"\\x\"}", "an unknown escape" },
	{ "{\"a\":\"\\u12\"}", "a short \\u escape" },
	{ "{\"a\":\"\\u12G4\"}", "a \\u escape with a non-hex digit" },
	{ "{\"a\":\"tab\there\"}", "a raw tab in a string" },
	{ "{\"a\":\"new\nline\"}", "a raw newline in a string" },
	{ "{\"a\":1 /* c */}", "a comment" },
	{ "{\"a\":\"\xc3\"}", "a cut two-byte sequence" },
	{ "{\"a\":\"\x80\"}", "a lone continuation byte" },
	{ "{\"a\":\"\xc0\xaf\"}", "an overlong two-byte form" },
	{ "{\"a\":\"\xe0\x80\xaf\"}", "an overlong three-byte form" },
	{ "{\"a\":\"\xf0\x80\x80\xaf\"}", "an overlong four-byte form" },
	{ "{\"a\":\"\xed\xa0\x80\"}", "a UTF-16 surrogate in UTF-8" },
	{ "{\"a\":\"\xf4\x90\x80\x80\"}", "a code point above U+10FFFF" },
	{ "{\"a\":\"\xf5\x80\x80\x80\"}", "a lead byte above 0xf4" },
	{ "{\"a\":\"\xe2\x82\"}", "a cut three-byte sequence before the quote" },
	{ "{\"a\":\"\xff\"}", "the byte 0xff" },
	{ "\xef\xbb\xbf{}", "a byte order mark" },
};

static void
test_check_tables(void)
{
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		size_t len = strlen(accepted[i].text);

		ok(json_check_object(accepted[i].text, len), "accepted: %s", accepted[i].why);
		ok(json_c_strict_object(accepted[i].text, len), "json-c agrees: %s", accepted[i].why);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ok(!json_check_object(refused[i].text, strlen(refused[i].text)), "refused: %s",
		    refused[i].why);
}

/* Every byte alone in a string: only printable ASCII but " and \ is allowed raw. */
static void
test_check_every_byte(void)
{
	int wrong = 0, agree = 1;

	for (int b = 0; b < 256; b++) {
		char text[16];
		size_t len = (size_t)snprintf(text, sizeof(text), "{\"a\":\"%c\"}", b == 0 ? 'x' : b);
		bool want = b >= 0x20 && b < 0x80 && b != '"' && b != '\\';

		if (b == 0)
			text[6] = '\0';	/* a NUL byte inside the string, within len */
		if (json_check_object(text, len) != want)
			wrong++;
		if (want && !json_c_strict_object(text, len))
			agree = 0;
	}
	ok(wrong == 0, "each byte alone in a string: %d judged wrongly", wrong);
	ok(agree, "json-c accepts every byte accepted");
}

/* utf8_valid, the check of a request body before json-c reads it: the rules json_check_object uses. */
static void
test_utf8_valid(void)
{
	const unsigned char smile[] = "\xf0\x9f\x98\x80";

	ok(utf8_valid((const unsigned char *)"", 0), "no bytes are UTF-8");
	ok(utf8_valid((const unsigned char *)"caf\xc3\xa9 \xe2\x82\xac \xf4\x8f\xbf\xbf", 14),
	    "two, three and four bytes, up to U+10FFFF");
	ok(utf8_valid(smile, 4), "a four-byte sequence whole");
	ok(!utf8_valid(smile, 3), "a sequence cut by the length, its last byte beyond it");
	ok(!utf8_valid((const unsigned char *)"\xed\xa0\x80", 3), "a surrogate");
	ok(!utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4), "above U+10FFFF");
	ok(!utf8_valid((const unsigned char *)"\xc0\xaf", 2), "an overlong form");
	ok(!utf8_valid((const unsigned char *)"a\x80", 2), "a lone continuation byte");
}

/* An object holding arrays nested that deep: {"a":[[...]]}. */
static const char *
nested(char *buf, int arrays)
{
	char *p = buf + sprintf(buf, "{\"a\":");

	memset(p, '[', (size_t)arrays);
	memset(p + arrays, ']', (size_t)arrays);
	strcpy(p + 2 * arrays, "}");
	return buf;
}

static void
test_check_bounds(void)
{
	char deep[128];

	ok(json_check_object("{\"a\":1}xyz", 7), "only len bytes are read");
	ok(!json_check_object("{\"a\":1}", 6), "a length that cuts the object");
	ok(!json_check_object("{\"a\":\"b\"}", 7), "a length that cuts a string");
	nested(deep, JSON_CHECK_MAX_DEPTH - 1);
	ok(json_check_object(deep, strlen(deep)), "%d levels of nesting", JSON_CHECK_MAX_DEPTH);
	nested(deep, JSON_CHECK_MAX_DEPTH);
	ok(!json_check_object(deep, strlen(deep)), "%d levels of nesting: refused",
	    JSON_CHECK_MAX_DEPTH + 1);
}

/*
 * jsonstr_quote of each byte alone: its length is jsonstr_quoted_len, it is
 * standard JSON (json_check_object: json-c takes raw control characters) and
 * json-c reads the byte back.
 */
static void
test_quote_every_byte(void)
{
	int wrong_len = 0, not_json = 0, wrong_back = 0;

	for (int b = 1; b < 256; b++) {
		char in[2] = { (char)b, '\0' }, buf[16];
		struct jsonstr js;
		json_object *back;

		jsonstr_init(&js, buf, sizeof(buf));
		jsonstr_raw(&js, "{\"a\":");
		jsonstr_quote(&js, in);
		jsonstr_raw(&js, "}");
		if (js.len != jsonstr_quoted_len(in) + 6 || strlen(buf) != js.len)
			wrong_len++;
		if (b >= 0x80)
			continue;	/* a lone byte of a UTF-8 sequence is not text */
		if (!json_check_object(buf, js.len))
			not_json++;
		back = json_c_strict(buf, js.len);
		if (!json_object_object_get_ex(back, "a", NULL) ||
		    strcmp(json_object_get_string(json_object_object_get(back, "a")), in) != 0)
			wrong_back++;
		json_object_put(back);
	}
	ok(wrong_len == 0, "quoted length of each byte: %d wrong", wrong_len);
	ok(not_json == 0, "each ASCII byte quoted is standard JSON: %d not", not_json);
	ok(wrong_back == 0, "each ASCII byte quoted reads back: %d wrong", wrong_back);
}

static void
test_quote_text(void)
{
	const char *text = "say \"hi\"\\\n\r\t\x01 caf\xc3\xa9";
	char buf[64];
	struct jsonstr js;

	jsonstr_init(&js, buf, sizeof(buf));
	jsonstr_raw(&js, "{\"t\":");
	jsonstr_quote(&js, text);
	jsonstr_raw(&js, "}");
	is_str(buf, "{\"t\":\"say \\\"hi\\\"\\\\\\n\\r\\t\\u0001 caf\xc3\xa9\"}",
	    "escapes and UTF-8 written as they should be");
	ok(js.len == strlen(buf), "len is the text's length");
	ok(jsonstr_quoted_len(text) == strlen(buf) - 6, "jsonstr_quoted_len counts the same");
}

static void
test_truncation(void)
{
	char buf[8];
	struct jsonstr js;

	memset(buf, 'X', sizeof(buf));
	jsonstr_init(&js, buf, sizeof(buf));
	jsonstr_raw(&js, "abcdefghijkl");
	is_str(buf, "abcdefg", "raw text is cut to the buffer, NUL-terminated");
	jsonstr_quote(&js, "more");
	ok(js.len == 7 && buf[7] == '\0', "a full buffer takes nothing more");
	jsonstr_init(&js, buf, sizeof(buf));
	jsonstr_quote(&js, "\x01\x02");
	is_str(buf, "\"\\u0001", "an escape is cut at the buffer's end");
	jsonstr_init(&js, buf, 0);
	jsonstr_raw(&js, "x");
	ok(js.len == 0, "a buffer of no bytes stays empty");
}

int
main(void)
{
	test_check_tables();
	test_check_every_byte();
	test_check_bounds();
	test_utf8_valid();
	test_quote_every_byte();
	test_quote_text();
	test_truncation();
	return done_testing();
}
