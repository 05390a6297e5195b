// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * Messages, the library version, the names of the uapi enums, the
 * copying out of extensible structs, and the library's fork() handler.
 *
 * A message goes to the application's log function when it set one, else
 * to stderr when P2PMR_DEBUG asks for its level.  Nothing here changes
 * errno: error paths log after setting it.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "p2pmr_internal.h"

/* Longest message; longer ones are cut. */
#define P2PMR_LOG_LEN	512

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static p2pmr_log_fn log_fn;
static void *log_arg;
/* Highest level printed to stderr without a log function; -1: unread. */
static int log_env_level = -1;

/*
 * Every lock of the library, taken in the order they nest in (the cache
 * logs under its lock), so the child of a fork() inherits none held.
 */
static void fork_prepare(void)
{
	p2pmr_cache_fork_lock();
	p2pmr_export_cache_fork_lock();
	p2pmr_watch_fork_lock();
	p2pmr_dev_fork_lock();
	p2pmr_mr_fork_lock();
	pthread_mutex_lock(&log_lock);
}

static void fork_done(bool child)
{
	pthread_mutex_unlock(&log_lock);
	p2pmr_mr_fork_unlock();
	p2pmr_dev_fork_unlock();
	if (child)
		p2pmr_watch_fork_child();
	else
		p2pmr_watch_fork_unlock();
	p2pmr_export_cache_fork_unlock();
	p2pmr_cache_fork_unlock();
}

static void fork_parent(void)
{
	fork_done(false);
}

static void fork_child(void)
{
	fork_done(true);
}

__attribute__((constructor)) static void p2pmr_init(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

const char *p2pmr_version(void)
{
	/* p2pmr/version.h, generated from the project's one version */
	return P2PMR_VERSION_STRING;
}

int p2pmr_check_out(const char *what, const void *dst, size_t dst_len,
		    size_t min_len)
{
	if (!dst) {
		p2pmr_err("%s: no struct to fill in", what);
		return EINVAL;
	}
	if (dst_len < min_len) {
		p2pmr_err("%s: struct length %zu, below the %zu of its first release",
			  what, dst_len, min_len);
		return EINVAL;
	}
	return 0;
}

void p2pmr_copy_out(void *dst, size_t dst_len, const void *src,
		    size_t src_len)
{
	size_t n = dst_len < src_len ? dst_len : src_len;

	memcpy(dst, src, n);
	memset((char *)dst + n, 0, dst_len - n);
}

void p2pmr_set_log_fn(p2pmr_log_fn fn, void *arg)
{
	pthread_mutex_lock(&log_lock);
	log_fn = fn;
	log_arg = arg;
	pthread_mutex_unlock(&log_lock);
}

/*
 * P2PMR_DEBUG: unset, empty or 0: nothing; 1 (or anything but a number):
 * errors; 2 or more: everything.  Caller holds log_lock.
 */
static int log_env_level_locked(void)
{
	const char *env;
	char *end;
	long val;

	if (log_env_level >= 0)
		return log_env_level;

	env = getenv("P2PMR_DEBUG");
	log_env_level = 0;
	if (env && *env) {
		val = strtol(env, &end, 10);
		if (*end || val == 1)
			log_env_level = P2PMR_LOG_ERR;
		else if (val >= 2)
			log_env_level = P2PMR_LOG_DEBUG;
	}
	return log_env_level;
}

void p2pmr_log_reset(void)
{
	pthread_mutex_lock(&log_lock);
	log_env_level = -1;
	pthread_mutex_unlock(&log_lock);
}

void p2pmr_log(int level, const char *fmt, ...)
{
	char msg[P2PMR_LOG_LEN];
	int saved_errno = errno;
	p2pmr_log_fn fn;
	va_list ap;
	void *arg;
	int max;

	/* Copy the receiver, call it unlocked: it may be slow or log. */
	pthread_mutex_lock(&log_lock);
	fn = log_fn;
	arg = log_arg;
	max = fn ? P2PMR_LOG_DEBUG : log_env_level_locked();
	pthread_mutex_unlock(&log_lock);

	if (level > max)
		goto out;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);

	if (fn)
		fn(level, msg, arg);
	else
		fprintf(stderr, "p2pmr: %s\n", msg);
out:
	errno = saved_errno;
}

const char *p2pmr_path_str(enum p2pmr_p2p_path path)
{
	switch (path) {
	case P2PMR_PATH_REFUSED:
		return "refused";
	case P2PMR_PATH_BUS_ADDR:
		return "bus_addr";
	case P2PMR_PATH_HOST_BRIDGE:
		return "host_bridge";
	}
	return "unknown";
}

const char *p2pmr_reason_str(enum p2pmr_p2p_reason reason)
{
	switch (reason) {
	case P2PMR_REASON_SAME_DEVICE:
		return "same_device";
	case P2PMR_REASON_COMMON_UPSTREAM:
		return "common_upstream";
	case P2PMR_REASON_ACS_REDIRECT:
		return "acs_redirect";
	case P2PMR_REASON_NO_COMMON_UPSTREAM:
		return "no_common_upstream";
	case P2PMR_REASON_DIFFERENT_HOST_BRIDGE:
		return "different_host_bridge";
	case P2PMR_REASON_DIFFERENT_DOMAIN:
		return "different_domain";
	case P2PMR_REASON_NOT_PCI:
		return "not_pci";
	case P2PMR_REASON_P2PDMA_REFUSED:
		return "p2pdma_refused";
	}
	return "unknown";
}
