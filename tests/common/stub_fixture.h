/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The fixture of the GPU runtime stand-ins' unit tests (test_cuda_stub,
 * test_rocm_stub): a regular file named resource2 in a directory named
 * like a PCI device plays the BAR, and what a stand-in wrote is read back
 * from that file with pread(), never through the library under test.
 * Uses cmocka's assertions: include after <cmocka.h>.
 */
#ifndef P2PMR_TEST_STUB_FIXTURE_H
#define P2PMR_TEST_STUB_FIXTURE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fixture_bar {
	/* Sized so that each name fits in the next. */
	char tmpdir[PATH_MAX - 64];
	char devdir[PATH_MAX - 32];
	/* <tmpdir>/<bdf>/resource2: the BAR. */
	char path[PATH_MAX];
	/* <tmpdir>/resource2: a resource file in no PCI device's directory. */
	char not_bdf[PATH_MAX];
	/* The test's own view of path. */
	int fd;
};

/*
 * Make both files, @size bytes each, in a fresh directory
 * $TMPDIR/<name>.XXXXXX; the process exits when that fails.
 */
void fixture_bar_create(struct fixture_bar *bar, const char *name,
			const char *bdf, off_t size);
void fixture_bar_remove(struct fixture_bar *bar);

/* The @n bytes at BAR offset @off are @expect, as the file has them. */
void assert_bar_has(const struct fixture_bar *bar, uint64_t off,
		    const void *expect, size_t n);

/* A pattern of @n bytes that differs with @seed. */
void fixture_fill(uint8_t *buf, size_t n, unsigned int seed);

/*
 * Set a stand-in's environment, <env>_RESOURCE, <env>_OFFSET and
 * <env>_DEBUG ("1" or unset); a NULL @resource or @offset unsets it.
 */
void fixture_setenv(const char *env, const char *resource,
		    const char *offset, bool debug);

/*
 * Run @fn in a child with that environment, for what happens once per
 * process (a library's first initialisation): @fn's result, and in @err
 * what the child wrote on stderr.
 */
int fixture_in_child(const char *env, const char *resource,
		     const char *offset, bool debug, int (*fn)(void),
		     char *err, size_t errlen);

/* Whether /dev/p2pmr exists, so that exports can succeed. */
bool fixture_p2pmr_present(void);

/* Whether [@addr, @addr + @len) is in one PROT_NONE private mapping. */
bool fixture_prot_none(uintptr_t addr, size_t len);

/* The CPU cannot touch @addr: a child that stores there dies of SIGSEGV. */
void assert_store_faults(void *addr);

#endif /* P2PMR_TEST_STUB_FIXTURE_H */
