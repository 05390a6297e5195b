// SPDX-License-Identifier: GPL-2.0
/*
 * The fixture of the GPU runtime stand-ins' unit tests; see
 * stub_fixture.h.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "stub_fixture.h"

static void make_file(const char *path, off_t size, int *keep_fd)
{
	int fd;

	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0 || ftruncate(fd, size)) {
		perror(path);
		exit(1);
	}
	if (keep_fd)
		*keep_fd = fd;
	else
		close(fd);
}

void fixture_bar_create(struct fixture_bar *bar, const char *name,
			const char *bdf, off_t size)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(bar->tmpdir, sizeof(bar->tmpdir), "%s/%s.XXXXXX",
		 tmp ? tmp : "/tmp", name);
	if (!mkdtemp(bar->tmpdir)) {
		perror("mkdtemp");
		exit(1);
	}
	snprintf(bar->devdir, sizeof(bar->devdir), "%s/%s", bar->tmpdir,
		 bdf);
	snprintf(bar->path, sizeof(bar->path), "%s/resource2", bar->devdir);
	snprintf(bar->not_bdf, sizeof(bar->not_bdf), "%s/resource2",
		 bar->tmpdir);
	if (mkdir(bar->devdir, 0700)) {
		perror(bar->devdir);
		exit(1);
	}
	make_file(bar->path, size, &bar->fd);
	make_file(bar->not_bdf, size, NULL);
}

void fixture_bar_remove(struct fixture_bar *bar)
{
	close(bar->fd);
	unlink(bar->path);
	unlink(bar->not_bdf);
	rmdir(bar->devdir);
	rmdir(bar->tmpdir);
}

void assert_bar_has(const struct fixture_bar *bar, uint64_t off,
		    const void *expect, size_t n)
{
	uint8_t *buf = malloc(n);

	assert_non_null(buf);
	assert_int_equal(pread(bar->fd, buf, n, off), (ssize_t)n);
	assert_memory_equal(buf, expect, n);
	free(buf);
}

void fixture_fill(uint8_t *buf, size_t n, unsigned int seed)
{
	size_t i;

	for (i = 0; i < n; i++)
		buf[i] = (uint8_t)(i * 131 + seed * 7 + (i >> 8));
}

static void setenv_or_unset(const char *env, const char *suffix,
			    const char *value)
{
	char name[128];

	snprintf(name, sizeof(name), "%s_%s", env, suffix);
	if (value)
		setenv(name, value, 1);
	else
		unsetenv(name);
}

void fixture_setenv(const char *env, const char *resource,
		    const char *offset, bool debug)
{
	setenv_or_unset(env, "RESOURCE", resource);
	setenv_or_unset(env, "OFFSET", offset);
	setenv_or_unset(env, "DEBUG", debug ? "1" : NULL);
}

int fixture_in_child(const char *env, const char *resource,
		     const char *offset, bool debug, int (*fn)(void),
		     char *err, size_t errlen)
{
	int res_pipe[2], err_pipe[2];
	ssize_t n, got = 0;
	int ret = -1;
	int status;
	pid_t pid;

	assert_int_equal(pipe(res_pipe), 0);
	assert_int_equal(pipe(err_pipe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		dup2(err_pipe[1], STDERR_FILENO);
		fixture_setenv(env, resource, offset, debug);
		ret = fn();
		if (write(res_pipe[1], &ret, sizeof(ret)) != sizeof(ret))
			_exit(1);
		_exit(0);
	}
	close(res_pipe[1]);
	close(err_pipe[1]);
	assert_int_equal(read(res_pipe[0], &ret, sizeof(ret)), sizeof(ret));
	while ((n = read(err_pipe[0], err + got, errlen - 1 - got)) > 0)
		got += n;
	err[got] = '\0';
	close(res_pipe[0]);
	close(err_pipe[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && !WEXITSTATUS(status));
	return ret;
}

bool fixture_p2pmr_present(void)
{
	return access("/dev/p2pmr", F_OK) == 0;
}

/* The "---p" of the mapping that holds addr in /proc/self/maps. */
bool fixture_prot_none(uintptr_t addr, size_t len)
{
	unsigned long start, end;
	char line[512], perms[8];
	bool found = false;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%lx-%lx %7s", &start, &end, perms) != 3)
			continue;
		if (addr >= start && addr + len <= end) {
			found = !strcmp(perms, "---p");
			break;
		}
	}
	fclose(f);
	return found;
}

void assert_store_faults(void *addr)
{
	int status;
	pid_t pid;

	pid = fork();
	assert_true(pid >= 0);
	if (!pid) {
		/* cmocka catches SIGSEGV; the child must die of it. */
		signal(SIGSEGV, SIG_DFL);
		/* An atomic store: the compiler cannot drop it. */
		__atomic_store_n((uint8_t *)addr, 1, __ATOMIC_SEQ_CST);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
}
