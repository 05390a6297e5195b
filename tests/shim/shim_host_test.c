// SPDX-License-Identifier: GPL-2.0
/*
 * The verbs shim preloaded in front of a stand-in for libibverbs
 * (fake_ibverbs.c), on a machine without RDMA or p2pmr: how the dynamic
 * linker binds to it, what reaches libibverbs unchanged, what the
 * callers of a dma-buf probe are told, what errno programs that never
 * meant to register device memory see, and fork() while another thread
 * registers.  BAR registrations themselves run in the VM tests.
 *
 * Run: LD_PRELOAD=libp2pmr-shim.so shim_host_test (the test refuses to
 * run without the shim in front).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "fake_ibverbs.h"

#undef ibv_reg_mr

#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

/* references bound to the old versions, as a binary from 2006 has them */
struct ibv_mr *old_reg_mr(struct ibv_pd *pd, void *addr, size_t length,
			  int access);
int old_dereg_mr(struct ibv_mr *mr);
__asm__(".symver old_reg_mr, ibv_reg_mr@IBVERBS_1.0");
__asm__(".symver old_dereg_mr, ibv_dereg_mr@IBVERBS_1.0");

static struct ibv_device device = { .name = "fake0" };
static struct ibv_context context = { .device = &device };
static struct ibv_pd pd = { .context = &context, .handle = 1 };
static char host_buf[8192] __attribute__((aligned(4096)));

static const char *object_of(void *sym)
{
	Dl_info info;

	if (!sym || !dladdr(sym, &info) || !info.dli_fname)
		return "(none)";
	return info.dli_fname;
}

static bool in_shim(void *sym)
{
	return strstr(object_of(sym), "libp2pmr-shim") != NULL;
}

static int setup(void **state)
{
	(void)state;
	/* not a uverbs fd: the library's ioctls on it get ENOTTY */
	context.cmd_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	return context.cmd_fd < 0 ? -1 : 0;
}

static int each(void **state)
{
	(void)state;
	memset(&fake_ibverbs, 0, sizeof(fake_ibverbs));
	return 0;
}

/*
 * The shim's definitions are the current versions; references to the
 * old ones reach libibverbs' compatibility code, which calls the current
 * ones, and so the shim, in turn.
 */
static void test_versions(void **state)
{
	struct ibv_mr *mr;

	(void)state;
	assert_true(in_shim(dlvsym(RTLD_DEFAULT, "ibv_reg_mr", "IBVERBS_1.1")));
	assert_true(in_shim(dlvsym(RTLD_DEFAULT, "ibv_dereg_mr",
				   "IBVERBS_1.1")));
	assert_true(in_shim(dlvsym(RTLD_DEFAULT, "ibv_reg_mr_ex",
				   "IBVERBS_1.15")));
	assert_false(in_shim(dlvsym(RTLD_DEFAULT, "ibv_reg_mr",
				    "IBVERBS_1.0")));
	assert_false(in_shim(dlvsym(RTLD_DEFAULT, "ibv_dereg_mr",
				    "IBVERBS_1.0")));

	mr = old_reg_mr(&pd, host_buf, sizeof(host_buf), ACCESS);
	assert_non_null(mr);
	assert_int_equal(fake_ibverbs.compat_1_0_calls, 1);
	assert_int_equal(old_dereg_mr(mr), 0);
	assert_int_equal(fake_ibverbs.compat_1_0_calls, 2);
}

/* ibv_reg_mr_ex() of host memory: libibverbs gets the caller's struct. */
static void test_reg_mr_ex_host(void **state)
{
	static const uint64_t masks[] = {
		IBV_REG_MR_MASK_ADDR,
		IBV_REG_MR_MASK_ADDR | IBV_REG_MR_MASK_IOVA,
		/* a DMA handle (TPH): passed through untouched */
		IBV_REG_MR_MASK_ADDR | IBV_REG_MR_MASK_DMAH,
	};
	struct ibv_mr_init_attr attr;
	struct ibv_mr *mr;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(masks) / sizeof(masks[0]); i++) {
		memset(&attr, 0, sizeof(attr));
		attr.comp_mask = masks[i];
		attr.addr = host_buf;
		attr.length = sizeof(host_buf);
		attr.access = ACCESS;
		attr.iova = 0x10000;
		attr.dmah = (struct ibv_dmah *)0x1;	/* never dereferenced */
		fake_ibverbs.reg_mr_ex_calls = 0;
		mr = ibv_reg_mr_ex(&pd, &attr);
		assert_non_null(mr);
		assert_int_equal(fake_ibverbs.reg_mr_ex_calls, 1);
		assert_ptr_equal(fake_ibverbs.last_attr, &attr);
		assert_int_equal(fake_ibverbs.last_mask, masks[i]);
		assert_ptr_equal(mr->addr, host_buf);
		assert_int_equal(ibv_dereg_mr(mr), 0);
	}
}

/*
 * ibv_reg_buf_mr(): the provider's buffer; its ibv_reg_mr_ex() call
 * beneath, back through the shim, goes on unchanged.
 */
static void test_reg_buf_mr(void **state)
{
	struct ibv_mr *mr;

	(void)state;
	mr = ibv_reg_buf_mr(&pd, (struct ibv_buf *)0x1, host_buf, 4096,
			    ACCESS);
	assert_non_null(mr);
	assert_int_equal(fake_ibverbs.reg_mr_ex_calls, 1);
	assert_int_equal(fake_ibverbs.last_mask,
			 IBV_REG_MR_MASK_BUF | IBV_REG_MR_MASK_ADDR);
	assert_int_equal(ibv_dereg_mr(mr), 0);
}

/*
 * UCX probes dma-buf support with ibv_reg_dmabuf_mr(fd = -1) and takes
 * EBADF for "supported".  A provider without reg_dmabuf_mr, over a
 * kernel driver without it (here: no uverbs at all), must still say
 * EOPNOTSUPP with the shim in front.  The same through ibv_reg_mr_ex().
 */
static void test_dmabuf_probe(void **state)
{
	struct ibv_mr_init_attr attr = {
		.comp_mask = IBV_REG_MR_MASK_FD | IBV_REG_MR_MASK_FD_OFFSET |
			     IBV_REG_MR_MASK_IOVA,
		.fd = -1,
		.length = 4096,
		.access = ACCESS,
	};

	(void)state;
	errno = 0;
	assert_null(ibv_reg_dmabuf_mr(&pd, 0, 4096, 0, -1, ACCESS));
	assert_int_equal(errno, EOPNOTSUPP);
	errno = 0;
	assert_null(ibv_reg_mr_ex(&pd, &attr));
	assert_int_equal(errno, EOPNOTSUPP);

	fake_ibverbs.provider_has_dmabuf = true;
	errno = 0;
	assert_null(ibv_reg_dmabuf_mr(&pd, 0, 4096, 0, -1, ACCESS));
	assert_int_equal(errno, EBADF);
	errno = 0;
	assert_null(ibv_reg_mr_ex(&pd, &attr));
	assert_int_equal(errno, EBADF);
}

/* A provider's own dma-buf MR keeps libibverbs' layout: addr = offset. */
static void test_dmabuf_layout(void **state)
{
	struct ibv_mr *mr;
	int fd;

	(void)state;
	fake_ibverbs.provider_has_dmabuf = true;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	mr = ibv_reg_dmabuf_mr(&pd, 0x2000, 4096, 0x7f0000002000, fd, ACCESS);
	assert_non_null(mr);
	assert_ptr_equal(mr->addr, (void *)0x2000);
	assert_int_equal(ibv_dereg_mr(mr), 0);
	close(fd);
}

/*
 * Memory the provider cannot pin that p2pmr cannot export either (no
 * /dev/p2pmr here; anonymous memory where there is one): the program
 * sees libibverbs' EFAULT, never an errno of p2pmr's.
 */
static void test_stock_errno(void **state)
{
	struct ibv_mr_init_attr attr = {
		.comp_mask = IBV_REG_MR_MASK_ADDR,
		.length = 4096,
		.access = ACCESS,
	};
	void *mem;

	(void)state;
	mem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(mem != MAP_FAILED);
	fake_ibverbs.devmem_start = (uintptr_t)mem;
	fake_ibverbs.devmem_end = (uintptr_t)mem + 4096;

	errno = 0;
	assert_null(ibv_reg_mr(&pd, mem, 4096, ACCESS));
	assert_int_equal(errno, EFAULT);
	attr.addr = mem;
	errno = 0;
	assert_null(ibv_reg_mr_ex(&pd, &attr));
	assert_int_equal(errno, EFAULT);
	munmap(mem, 4096);
}

static volatile bool stop;

static void *register_loop(void *arg)
{
	int fd = *(int *)arg;
	struct ibv_mr *mr;

	while (!stop) {
		mr = ibv_reg_dmabuf_mr(&pd, 0, 4096, 0, fd, ACCESS);
		if (mr)
			ibv_dereg_mr(mr);
	}
	return NULL;
}

/*
 * fork() while another thread registers and deregisters dma-buf MRs
 * (the shim's registry lock taken and dropped all the time): every
 * child can register and deregister, none inherits the lock held.
 */
static void test_fork(void **state)
{
	pthread_t thread;
	int fd, i, status;
	struct ibv_mr *mr;
	pid_t pid;

	(void)state;
	fake_ibverbs.provider_has_dmabuf = true;
	fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	stop = false;
	assert_int_equal(pthread_create(&thread, NULL, register_loop, &fd), 0);
	for (i = 0; i < 300; i++) {
		pid = fork();
		assert_true(pid >= 0);
		if (!pid) {
			alarm(10);	/* a child stuck on a lock dies */
			mr = ibv_reg_dmabuf_mr(&pd, 0, 4096, 0, fd, ACCESS);
			_exit(mr && !ibv_dereg_mr(mr) ? 0 : 1);
		}
		assert_int_equal(waitpid(pid, &status, 0), pid);
		if (!WIFEXITED(status) || WEXITSTATUS(status))
			fail_msg("child %d of 300: %s %d", i,
				 WIFSIGNALED(status) ? "killed by signal" :
				 "exit status", WIFSIGNALED(status) ?
				 WTERMSIG(status) : WEXITSTATUS(status));
	}
	stop = true;
	pthread_join(thread, NULL);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_versions, each),
		cmocka_unit_test_setup(test_reg_mr_ex_host, each),
		cmocka_unit_test_setup(test_reg_buf_mr, each),
		cmocka_unit_test_setup(test_dmabuf_probe, each),
		cmocka_unit_test_setup(test_dmabuf_layout, each),
		cmocka_unit_test_setup(test_stock_errno, each),
		cmocka_unit_test_setup(test_fork, each),
	};

	if (!in_shim(dlsym(RTLD_DEFAULT, "ibv_reg_mr"))) {
		fprintf(stderr, "run with LD_PRELOAD=libp2pmr-shim.so\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, NULL);
}
