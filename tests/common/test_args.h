/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Command-line parsing shared by the guest test programs: numbers and
 * verbs access flags, strictly, so that a typo in a test script is a
 * usage error rather than a silently different test.
 */
#ifndef P2PMR_TEST_ARGS_H
#define P2PMR_TEST_ARGS_H

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <infiniband/verbs.h>

/* A whole unsigned number (decimal, 0x hex, 0 octal); no sign, no tail. */
static inline int test_parse_u64(const char *s, uint64_t *v)
{
	char *end;

	errno = 0;
	*v = strtoull(s, &end, 0);
	return (*s == '\0' || *s == '-' || *end != '\0' || errno) ? -1 : 0;
}

/* "local_write,remote_read,..." to IBV_ACCESS_* flags. */
static inline int test_parse_access(const char *s, int *access)
{
	static const struct {
		const char *name;
		int flag;
	} names[] = {
		{ "local_write", IBV_ACCESS_LOCAL_WRITE },
		{ "remote_read", IBV_ACCESS_REMOTE_READ },
		{ "remote_write", IBV_ACCESS_REMOTE_WRITE },
		{ "remote_atomic", IBV_ACCESS_REMOTE_ATOMIC },
	};
	char *copy = strdup(s), *tok, *save = NULL;
	size_t i;

	if (!copy)
		return -1;
	*access = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!strcmp(names[i].name, tok))
				break;
		if (i == sizeof(names) / sizeof(names[0])) {
			free(copy);
			return -1;
		}
		*access |= names[i].flag;
	}
	free(copy);
	return 0;
}

#endif /* P2PMR_TEST_ARGS_H */
