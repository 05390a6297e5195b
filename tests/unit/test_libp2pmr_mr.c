// SPDX-License-Identifier: GPL-2.0
/*
 * libp2pmr memory registration, against a stand-in RDMA device: the verbs
 * calls and the ioctls go through the library's ops table, which these
 * tests replace with mocks that play the verbs provider, the uverbs kernel
 * interface (driver id probing, REG_DMABUF_MR, MR_DESTROY) and /dev/p2pmr.
 *
 * What is checked: the dma-buf fallback when the provider has no
 * reg_dmabuf_mr, the EOPNOTSUPP contract when the kernel has none either,
 * that the library's own MRs never reach ibv_dereg_mr(), that the kernel
 * driver id is probed once per verbs context (and again when a cached one
 * is refused), and the routing of p2pmr_reg_mr() (host, BAR, a BAR
 * found only when host registration fails with EFAULT or EINVAL, and a
 * BAR registered without remote atomics where the HCA refuses them).  Real
 * registrations run in the VM tests.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cmocka.h>

#include <infiniband/verbs.h>
#include <rdma/ib_user_ioctl_cmds.h>
#include <rdma/rdma_user_ioctl_cmds.h>

#include "fake_env.h"
#include "p2pmr_internal.h"

#define FAKE_DRIVER_ID	17
#define FAKE_DRIVER_ID2	23	/* context2's kernel driver */
#define PD_HANDLE	7
#define MR_HANDLE	0x55
#define LKEY		0x1234
#define RKEY		0x5678
#define DMABUF_FD	3	/* any fd the tests pass; never used as one */

#define SYS_DEV1	"/sys/devices/pci0000:00/0000:00:01.0/0000:01:00.0"
#define X		0x7f0000000000ULL	/* a BAR mapping, 64 MiB */
#define HEAP		0x55d0c0a00000ULL

static const char maps_with_bar[] =
	"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]\n"
	"7f0000000000-7f0004000000 rw-s 380000000 00:15 31337     " SYS_DEV1 "/resource2_wc\n";
#define DMABUF_MAP	0x7f5000000000ULL
static const char maps_with_dmabuf[] =
	"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]\n"
	"7f5000000000-7f5000010000 rw-s 00004000 00:0d 4242       /dmabuf:\n";
static const char maps_without_bar[] =
	"55d0c0a00000-55d0c0a21000 rw-p 00000000 00:00 0          [heap]\n";

static const char *maps_text;

static struct ibv_device device = { .name = "rxe0" };
static struct ibv_context context = { .device = &device };
static struct ibv_pd pd = { .context = &context, .handle = PD_HANDLE };
/* another device's context, another kernel driver */
static struct ibv_device device2 = { .name = "rxe1" };
static struct ibv_context context2 = { .device = &device2 };
static struct ibv_pd pd2 = { .context = &context2, .handle = PD_HANDLE };
/* MRs as libibverbs lays them out (struct verbs_mr): the type is read */
struct fake_verbs_mr {
	struct ibv_mr mr;
	int mr_type;		/* enum ibv_mr_type */
	int access;
};

static struct fake_verbs_mr provider_vmr = { .mr_type = 3 /* DMABUF */ };
#define provider_mr	(provider_vmr.mr)

/*
 * The verbs provider
 */

static struct ibv_mr *mock_reg_mr(struct ibv_pd *p, void *addr, size_t length,
				  int access)
{
	struct ibv_mr *mr;

	assert_ptr_equal(p, &pd);
	check_expected(addr);
	check_expected(length);
	check_expected(access);
	mr = mock_ptr_type(struct ibv_mr *);
	if (!mr)
		errno = mock_type(int);
	return mr;
}

static struct ibv_mr *mock_reg_mr_iova2(struct ibv_pd *p, void *addr,
					size_t length, uint64_t iova,
					unsigned int access)
{
	assert_ptr_equal(p, &pd);
	check_expected(addr);
	check_expected(length);
	check_expected(iova);
	check_expected(access);
	return mock_ptr_type(struct ibv_mr *);
}

/*
 * Whether the verbs provider has a reg_dmabuf_mr of its own (mlx5, efa,
 * rxe with the rdma-core series) or libibverbs' stub stands in for it
 * (rxe in rdma-core 44): the stub answers EOPNOTSUPP to everything and
 * makes no system call; a provider's own passes a bad fd to the kernel,
 * which answers EBADF.  That is what UCX's probe with fd -1 sees, and the
 * library's own probe; calls with a real fd are the tests' to expect.
 */
static bool provider_has_dmabuf;

static struct ibv_mr *mock_reg_dmabuf_mr(struct ibv_pd *p, uint64_t offset,
					 size_t length, uint64_t iova, int fd,
					 int access)
{
	struct ibv_mr *mr;

	assert_int_equal(p->handle, PD_HANDLE);
	if (fd < 0) {
		errno = provider_has_dmabuf ? EBADF : EOPNOTSUPP;
		return NULL;
	}
	check_expected(offset);
	check_expected(length);
	check_expected(iova);
	check_expected(fd);
	check_expected(access);
	mr = mock_ptr_type(struct ibv_mr *);
	if (!mr) {
		errno = mock_type(int);
		return NULL;
	}
	/* as libibverbs' ibv_reg_dmabuf_mr() lays it out */
	mr->context = p->context;
	mr->pd = p;
	mr->addr = (void *)(uintptr_t)offset;
	mr->length = length;
	return mr;
}

static int mock_dereg_mr(struct ibv_mr *mr)
{
	check_expected(mr);
	return mock_type(int);
}

/*
 * The kernel: uverbs on the context's command fd, and /dev/p2pmr
 */

enum uverbs_mode {
	UVERBS_OK,		/* dma-buf MRs supported */
	UVERBS_NO_METHOD,	/* the driver has no reg_user_mr_dmabuf */
	UVERBS_NO_IOCTL,	/* not a uverbs fd */
	UVERBS_EBADF,		/* the kernel refuses the fd */
	UVERBS_DESTROY_EBUSY,	/* MR_DESTROY fails */
	UVERBS_REG_EINVAL,	/* REG_DMABUF_MR refuses the arguments */
};

static enum uverbs_mode uverbs_mode;
static unsigned int uverbs_regs, uverbs_destroys;
/* driver id probes answered (one per probe), ioctls refused for the id */
static unsigned int uverbs_probes, uverbs_wrong_id;
/* the kernel driver behind context.cmd_fd; context2.cmd_fd's is ID2 */
static uint32_t context_driver_id;
static int exported_fd = -1;

static const struct ib_uverbs_attr *attr(const struct ib_uverbs_ioctl_hdr *h,
					 uint16_t id)
{
	unsigned int i;

	for (i = 0; i < h->num_attrs; i++)
		if (h->attrs[i].attr_id == id)
			return &h->attrs[i];
	fail_msg("attribute %u missing", id);
	return NULL;
}

static int uverbs_ioctl(int cmd_fd, struct ib_uverbs_ioctl_hdr *h)
{
	struct ib_uverbs_attr *a;
	uint32_t fd, access;

	if (uverbs_mode == UVERBS_NO_IOCTL)
		return ENOTTY;
	assert_int_equal(h->length, sizeof(*h) +
			 h->num_attrs * sizeof(struct ib_uverbs_attr));
	if (h->driver_id != (cmd_fd == context2.cmd_fd ? FAKE_DRIVER_ID2 :
			     context_driver_id)) {
		uverbs_wrong_id++;
		return EINVAL;
	}
	if (h->object_id != UVERBS_OBJECT_MR) {
		uverbs_probes++;
		return EPROTONOSUPPORT;
	}

	if (h->method_id == UVERBS_METHOD_MR_DESTROY) {
		assert_int_equal(attr(h, UVERBS_ATTR_DESTROY_MR_HANDLE)->data,
				 MR_HANDLE);
		if (uverbs_mode == UVERBS_DESTROY_EBUSY)
			return EBUSY;
		uverbs_destroys++;
		return 0;
	}
	assert_int_equal(h->method_id, UVERBS_METHOD_REG_DMABUF_MR);
	if (uverbs_mode == UVERBS_NO_METHOD)
		return EPROTONOSUPPORT;
	memcpy(&fd, &attr(h, UVERBS_ATTR_REG_DMABUF_MR_FD)->data, sizeof(fd));
	if (uverbs_mode == UVERBS_EBADF || (int)fd < 0)
		return EBADF;
	if (uverbs_mode == UVERBS_REG_EINVAL)
		return EINVAL;

	assert_int_equal(attr(h, UVERBS_ATTR_REG_DMABUF_MR_PD_HANDLE)->data,
			 PD_HANDLE);
	assert_int_equal(attr(h, UVERBS_ATTR_REG_DMABUF_MR_OFFSET)->data,
			 0x10);
	assert_int_equal(attr(h, UVERBS_ATTR_REG_DMABUF_MR_LENGTH)->data,
			 0x2000);
	assert_int_equal(attr(h, UVERBS_ATTR_REG_DMABUF_MR_IOVA)->data,
			 X + 0x10);
	/* the caller's dma-buf, or the one p2pmr_reg_mr() exported */
	assert_int_equal(fd, exported_fd >= 0 ? exported_fd : DMABUF_FD);
	memcpy(&access,
	       &attr(h, UVERBS_ATTR_REG_DMABUF_MR_ACCESS_FLAGS)->data,
	       sizeof(access));
	assert_int_equal(access, IBV_ACCESS_LOCAL_WRITE |
				 IBV_ACCESS_REMOTE_WRITE);
	a = (struct ib_uverbs_attr *)attr(h, UVERBS_ATTR_REG_DMABUF_MR_HANDLE);
	a->data = MR_HANDLE;
	*(uint32_t *)(uintptr_t)
		attr(h, UVERBS_ATTR_REG_DMABUF_MR_RESP_LKEY)->data = LKEY;
	*(uint32_t *)(uintptr_t)
		attr(h, UVERBS_ATTR_REG_DMABUF_MR_RESP_RKEY)->data = RKEY;
	uverbs_regs++;
	return 0;
}

/* CHECK_VA: ENOTTY (a module without it) unless a test expects it. */
static bool check_va_expected;

static int check_va_ioctl(struct p2pmr_check_va *cmd)
{
	int err;

	if (!check_va_expected)
		return ENOTTY;
	assert_int_equal(cmd->size, sizeof(*cmd));
	check_expected(cmd->addr);
	check_expected(cmd->length);
	check_expected(cmd->dmabuf_fd);
	err = mock_type(int);
	if (!err)
		cmd->out_offset = mock_type(uint64_t);
	return err;
}

/* VA_DMABUF: EINVAL (no dma-buf mapping) unless a test expects it. */
static bool va_dmabuf_expected;

static int va_dmabuf_ioctl(struct p2pmr_va_dmabuf *cmd)
{
	int err;

	if (!va_dmabuf_expected)
		return EINVAL;
	assert_int_equal(cmd->size, sizeof(*cmd));
	assert_int_equal(cmd->open_flags, O_CLOEXEC);
	check_expected(cmd->addr);
	check_expected(cmd->length);
	check_expected(cmd->flags);
	err = mock_type(int);
	if (err)
		return err;
	exported_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(exported_fd >= 0);
	cmd->out_dmabuf_fd = exported_fd;
	cmd->out_offset = mock_type(uint64_t);
	return 0;
}

/*
 * Watches: a module without them (mmap of the device fails) unless a test
 * expects them; then the watch page is the test's, and it moves the
 * counters.
 */
static bool watch_expected;
static uint64_t *watch_page;
static unsigned int unwatches;

static void *mock_mmap(void *addr, size_t length, int prot, int flags, int fd,
		       off_t offset)
{
	if (!watch_expected) {
		errno = ENODEV;
		return MAP_FAILED;
	}
	assert_int_equal(length, sysconf(_SC_PAGESIZE));
	assert_int_equal(prot, PROT_READ);
	assert_int_equal(flags, MAP_SHARED);
	assert_int_equal(offset, 0);
	watch_page = mmap(addr, length, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	assert_true(watch_page != MAP_FAILED);
	(void)fd;
	return watch_page;
}

static int watch_va_ioctl(struct p2pmr_watch_va *cmd)
{
	int err;

	assert_true(watch_expected);
	assert_int_equal(cmd->size, sizeof(*cmd));
	check_expected(cmd->addr);
	check_expected(cmd->length);
	check_expected(cmd->dmabuf_fd);
	err = mock_type(int);
	if (err)
		return err;
	cmd->out_slot = mock_type(unsigned int);
	cmd->out_seq = watch_page[cmd->out_slot];
	cmd->out_offset = 0;
	return 0;
}

static int unwatch_ioctl(struct p2pmr_unwatch *cmd)
{
	assert_true(watch_expected);
	assert_int_equal(cmd->size, sizeof(*cmd));
	watch_page[cmd->slot]++;
	unwatches++;
	return 0;
}

static int p2pmr_dev_ioctl(unsigned long request, void *arg)
{
	struct p2pmr_export_va *cmd = arg;
	int err;

	if (request == P2PMR_IOCTL_WATCH_VA)
		return watch_va_ioctl(arg);
	if (request == P2PMR_IOCTL_UNWATCH)
		return unwatch_ioctl(arg);
	if (request == P2PMR_IOCTL_CHECK_VA)
		return check_va_ioctl(arg);
	if (request == P2PMR_IOCTL_VA_DMABUF)
		return va_dmabuf_ioctl(arg);
	assert_int_equal(request, P2PMR_IOCTL_EXPORT_VA);
	assert_int_equal(cmd->size, sizeof(*cmd));
	check_expected(cmd->addr);
	check_expected(cmd->length);
	err = mock_type(int);
	if (err)
		return err;
	/* a real fd, so that closing it is seen */
	exported_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	assert_true(exported_fd >= 0);
	cmd->out_dmabuf_fd = exported_fd;
	cmd->out_offset = 0x1000;
	cmd->out_bar = 2;
	return 0;
}

static int mock_ioctl(int fd, unsigned long request, void *arg)
{
	int err;

	if (request == RDMA_VERBS_IOCTL) {
		assert_true(fd == context.cmd_fd || fd == context2.cmd_fd);
		err = uverbs_ioctl(fd, arg);
	} else {
		err = p2pmr_dev_ioctl(request, arg);
	}
	errno = err;
	return err ? -1 : 0;
}

static const struct p2pmr_ops mock_ops = {
	.reg_mr = mock_reg_mr,
	.reg_mr_iova2 = mock_reg_mr_iova2,
	.reg_dmabuf_mr = mock_reg_dmabuf_mr,
	.dereg_mr = mock_dereg_mr,
	.ioctl = mock_ioctl,
	.mmap = mock_mmap,
	.munmap = munmap,
};

static int setup(void **state)
{
	(void)state;
	context.cmd_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (context.cmd_fd < 0)
		return -1;
	context2.cmd_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (context2.cmd_fd < 0)
		return -1;
	p2pmr_set_ops(&mock_ops);
	p2pmr_set_dev_path("/dev/null");
	/* BAR offsets stay unresolved: nothing of the host's sysfs is read */
	p2pmr_set_sysfs_root("/nonexistent");
	p2pmr_cache_set_source(fake_maps_source, &maps_text);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	p2pmr_cache_set_source(NULL, NULL);
	p2pmr_set_sysfs_root(NULL);
	p2pmr_set_dev_path(NULL);
	p2pmr_set_ops(NULL);
	close(context.cmd_fd);
	close(context2.cmd_fd);
	return 0;
}

static int each(void **state)
{
	(void)state;
	uverbs_mode = UVERBS_OK;
	uverbs_regs = 0;
	uverbs_destroys = 0;
	uverbs_probes = 0;
	uverbs_wrong_id = 0;
	context_driver_id = FAKE_DRIVER_ID;
	provider_has_dmabuf = false;
	unsetenv("P2PMR_DROP_REMOTE_ATOMIC");
	p2pmr_driver_id_cache_reset();
	exported_fd = -1;
	maps_text = maps_with_bar;
	p2pmr_cache_reset();
	/* the tests of one export per registration; test_export_cache_* */
	p2pmr_export_cache_set_enabled(0);
	check_va_expected = false;
	va_dmabuf_expected = false;
	watch_expected = false;
	unwatches = 0;
	p2pmr_watch_reset();
	return 0;
}

static void expect_provider_dmabuf(uint64_t offset, size_t length,
				   uint64_t iova, int fd, int access,
				   struct ibv_mr *ret, int err)
{
	expect_value(mock_reg_dmabuf_mr, offset, offset);
	expect_value(mock_reg_dmabuf_mr, length, length);
	expect_value(mock_reg_dmabuf_mr, iova, iova);
	expect_value(mock_reg_dmabuf_mr, fd, fd);
	expect_value(mock_reg_dmabuf_mr, access, access);
	will_return(mock_reg_dmabuf_mr, ret);
	if (!ret)
		will_return(mock_reg_dmabuf_mr, err);
}

#define ACCESS	(IBV_ACCESS_LOCAL_WRITE | IBV_ACCESS_REMOTE_WRITE)

/*
 * p2pmr_reg_dmabuf_mr()
 */

static void test_dmabuf_refused(void **state)
{
	struct ibv_pd orphan = { .context = NULL };

	(void)state;
	/* refused before any verb is called: no mock expects a call */
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(NULL, 0, 4096, 0, DMABUF_FD, ACCESS));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(&orphan, 0, 4096, 0, DMABUF_FD,
					ACCESS));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(&pd, 0, 0, 0, DMABUF_FD, ACCESS));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(p2pmr_dereg_mr(NULL), EINVAL);
}

/*
 * UCX's probe of dma-buf support, ibv_reg_dmabuf_mr(fd = -1), takes EBADF
 * for "supported": the answer must be the kernel's, reached through the
 * provider, or through the uverbs ioctl where the provider has no
 * reg_dmabuf_mr (and the library can register dma-bufs), never one the
 * library makes up.
 */
static void test_dmabuf_probe(void **state)
{
	(void)state;
	/* the provider's own verb: the kernel's EBADF, no ioctl of ours */
	provider_has_dmabuf = true;
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(&pd, 0, 4096, 0, -1, ACCESS));
	assert_int_equal(errno, EBADF);
	assert_int_equal(uverbs_probes, 0);

	/* libibverbs' stub, a kernel driver with dma-buf MRs: EBADF */
	provider_has_dmabuf = false;
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(&pd, 0, 4096, 0, -1, ACCESS));
	assert_int_equal(errno, EBADF);
	assert_int_equal(uverbs_regs, 0);

	/* ... a kernel driver without (stock soft-RoCE): EOPNOTSUPP */
	uverbs_mode = UVERBS_NO_METHOD;
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(&pd, 0, 4096, 0, -1, ACCESS));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(p2pmr_own_mr_count(), 0);
}

static void test_dmabuf_provider(void **state)
{
	(void)state;
	expect_provider_dmabuf(0x10, 0x2000, X + 0x10, DMABUF_FD, ACCESS,
			       &provider_mr, 0);
	assert_ptr_equal(p2pmr_reg_dmabuf_mr(&pd, 0x10, 0x2000, X + 0x10,
					     DMABUF_FD, ACCESS),
			 &provider_mr);
	assert_int_equal(uverbs_regs, 0);
	/* the caller asked for a dma-buf MR: libibverbs' layout stays */
	assert_ptr_equal(provider_mr.addr, (void *)0x10);

	/* the provider's own MR goes back to the provider */
	expect_value(mock_dereg_mr, mr, &provider_mr);
	will_return(mock_dereg_mr, 0);
	assert_int_equal(p2pmr_dereg_mr(&provider_mr), 0);
	expect_value(mock_dereg_mr, mr, &provider_mr);
	will_return(mock_dereg_mr, EBUSY);
	assert_int_equal(p2pmr_dereg_mr(&provider_mr), EBUSY);

	/* its errors other than EOPNOTSUPP are final */
	expect_provider_dmabuf(0x10, 0x2000, X + 0x10, DMABUF_FD, ACCESS, NULL,
			       EINVAL);
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(&pd, 0x10, 0x2000, X + 0x10,
					DMABUF_FD, ACCESS));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(uverbs_regs, 0);

	/*
	 * EOPNOTSUPP from a provider that has reg_dmabuf_mr (mlx5 without
	 * ODP, an access it refuses) is its answer: the uverbs ioctl would
	 * go around the provider.
	 */
	provider_has_dmabuf = true;
	expect_provider_dmabuf(0x10, 0x2000, X + 0x10, DMABUF_FD, ACCESS, NULL,
			       EOPNOTSUPP);
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(&pd, 0x10, 0x2000, X + 0x10,
					DMABUF_FD, ACCESS));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_int_equal(uverbs_probes, 0);
	assert_int_equal(uverbs_regs, 0);
}

/* The provider lacks reg_dmabuf_mr (rxe): the uverbs ioctl does it. */
static void test_dmabuf_uverbs_fallback(void **state)
{
	struct ibv_mr *mr;

	(void)state;
	expect_provider_dmabuf(0x10, 0x2000, X + 0x10, DMABUF_FD, ACCESS, NULL,
			       EOPNOTSUPP);
	mr = p2pmr_reg_dmabuf_mr(&pd, 0x10, 0x2000, X + 0x10, DMABUF_FD,
				 ACCESS);
	assert_non_null(mr);
	assert_int_equal(uverbs_regs, 1);
	assert_ptr_equal(mr->context, &context);
	assert_ptr_equal(mr->pd, &pd);
	/* laid out as libibverbs lays out a dma-buf MR: addr = offset */
	assert_ptr_equal(mr->addr, (void *)0x10);
	assert_int_equal(mr->length, 0x2000);
	/*
	 * and as a struct verbs_mr of type IBV_MR_TYPE_DMABUF_MR (3), so
	 * that libibverbs' ibv_dereg_mr() reads what it is
	 */
	assert_int_equal(((struct { struct ibv_mr m; int type; int access; } *)
			  mr)->type, 3);
	assert_int_equal(((struct { struct ibv_mr m; int type; int access; } *)
			  mr)->access, ACCESS);
	assert_int_equal(mr->handle, MR_HANDLE);
	assert_int_equal(mr->lkey, LKEY);
	assert_int_equal(mr->rkey, RKEY);
	assert_int_equal(p2pmr_own_mr_count(), 1);

	/* released through the ioctl, never through the provider */
	assert_int_equal(p2pmr_dereg_mr(mr), 0);
	assert_int_equal(uverbs_destroys, 1);
	assert_int_equal(p2pmr_own_mr_count(), 0);
}

static void test_dmabuf_eopnotsupp(void **state)
{
	static const enum uverbs_mode modes[] = {
		UVERBS_NO_METHOD, UVERBS_NO_IOCTL,
	};
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(modes); i++) {
		uverbs_mode = modes[i];
		expect_provider_dmabuf(0x10, 0x2000, X + 0x10, DMABUF_FD,
				       ACCESS, NULL, EOPNOTSUPP);
		errno = 0;
		assert_null(p2pmr_reg_dmabuf_mr(&pd, 0x10, 0x2000, X + 0x10,
						DMABUF_FD, ACCESS));
		if (errno != EOPNOTSUPP)
			fail_msg("mode %d: errno %d, expected EOPNOTSUPP",
				 modes[i], errno);
	}
	assert_int_equal(p2pmr_own_mr_count(), 0);

	/* the kernel's other errors come through */
	uverbs_mode = UVERBS_EBADF;
	expect_provider_dmabuf(0x10, 0x2000, X + 0x10, DMABUF_FD, ACCESS, NULL,
			       EOPNOTSUPP);
	errno = 0;
	assert_null(p2pmr_reg_dmabuf_mr(&pd, 0x10, 0x2000, X + 0x10,
					DMABUF_FD, ACCESS));
	assert_int_equal(errno, EBADF);
}

static void test_dmabuf_dereg_fails(void **state)
{
	struct ibv_mr *mr;

	(void)state;
	expect_provider_dmabuf(0x10, 0x2000, X + 0x10, DMABUF_FD, ACCESS, NULL,
			       EOPNOTSUPP);
	mr = p2pmr_reg_dmabuf_mr(&pd, 0x10, 0x2000, X + 0x10, DMABUF_FD,
				 ACCESS);
	assert_non_null(mr);

	uverbs_mode = UVERBS_DESTROY_EBUSY;
	assert_int_equal(p2pmr_dereg_mr(mr), EBUSY);
	/* still registered, still the library's */
	assert_int_equal(p2pmr_own_mr_count(), 1);
	uverbs_mode = UVERBS_OK;
	assert_int_equal(p2pmr_dereg_mr(mr), 0);
	assert_int_equal(uverbs_destroys, 1);
	assert_int_equal(p2pmr_own_mr_count(), 0);
}


/* Through the uverbs fallback on @p: the provider says EOPNOTSUPP. */
static struct ibv_mr *reg_fallback(struct ibv_pd *p)
{
	expect_provider_dmabuf(0x10, 0x2000, X + 0x10, DMABUF_FD, ACCESS, NULL,
			       EOPNOTSUPP);
	return p2pmr_reg_dmabuf_mr(p, 0x10, 0x2000, X + 0x10, DMABUF_FD,
				   ACCESS);
}

/* The driver id is probed once per context, not once per registration. */
static void test_driver_id_probed_once(void **state)
{
	struct ibv_mr *mr1, *mr2;

	(void)state;
	mr1 = reg_fallback(&pd);
	assert_non_null(mr1);
	assert_int_equal(uverbs_probes, 1);
	/* ids 0 to 16 refused on the way */
	assert_int_equal(uverbs_wrong_id, FAKE_DRIVER_ID);

	mr2 = reg_fallback(&pd);
	assert_non_null(mr2);
	assert_int_equal(uverbs_regs, 2);
	assert_int_equal(uverbs_probes, 1);
	assert_int_equal(uverbs_wrong_id, FAKE_DRIVER_ID);

	/* deregistration uses the MR's id: no probe, no refusal */
	assert_int_equal(p2pmr_dereg_mr(mr1), 0);
	assert_int_equal(p2pmr_dereg_mr(mr2), 0);
	assert_int_equal(uverbs_destroys, 2);
	assert_int_equal(uverbs_probes, 1);
	assert_int_equal(uverbs_wrong_id, FAKE_DRIVER_ID);
}

/*
 * The context is closed and another, of another kernel driver, allocated
 * at the same address with the same command fd: the cached id is refused
 * (EINVAL), probed again, and the registration retried.
 */
static void test_driver_id_stale(void **state)
{
	unsigned int wrong;
	struct ibv_mr *mr;
	int old_fd;

	(void)state;
	mr = reg_fallback(&pd);
	assert_non_null(mr);
	assert_int_equal(p2pmr_dereg_mr(mr), 0);
	assert_int_equal(uverbs_probes, 1);

	context_driver_id = FAKE_DRIVER_ID2;
	wrong = uverbs_wrong_id;
	mr = reg_fallback(&pd);
	assert_non_null(mr);
	assert_int_equal(uverbs_probes, 2);
	/* the stale id once, then ids 0 to 22 */
	assert_int_equal(uverbs_wrong_id, wrong + 1 + FAKE_DRIVER_ID2);
	assert_int_equal(uverbs_regs, 2);
	/* MR_DESTROY refuses a wrong id: the MR carries the new one */
	assert_int_equal(p2pmr_dereg_mr(mr), 0);
	assert_int_equal(uverbs_destroys, 2);

	/* the new id is cached */
	wrong = uverbs_wrong_id;
	mr = reg_fallback(&pd);
	assert_non_null(mr);
	assert_int_equal(uverbs_probes, 2);
	assert_int_equal(uverbs_wrong_id, wrong);
	assert_int_equal(p2pmr_dereg_mr(mr), 0);

	/* an EINVAL of the command itself: one probe more, no loop */
	uverbs_mode = UVERBS_REG_EINVAL;
	errno = 0;
	assert_null(reg_fallback(&pd));
	assert_int_equal(errno, EINVAL);
	assert_int_equal(uverbs_probes, 3);
	assert_int_equal(p2pmr_own_mr_count(), 0);
	uverbs_mode = UVERBS_OK;

	/* the same address with another command fd: another context */
	old_fd = context.cmd_fd;
	context.cmd_fd = dup(old_fd);
	assert_true(context.cmd_fd >= 0);
	close(old_fd);
	context_driver_id = FAKE_DRIVER_ID;
	wrong = uverbs_wrong_id;
	mr = reg_fallback(&pd);
	assert_non_null(mr);
	assert_int_equal(uverbs_probes, 4);
	/* probed at once: the old entry was not tried */
	assert_int_equal(uverbs_wrong_id, wrong + FAKE_DRIVER_ID);
	assert_int_equal(p2pmr_dereg_mr(mr), 0);
}

/* Two contexts, two kernel drivers: each its own id, each probed once. */
static void test_driver_id_two_contexts(void **state)
{
	struct ibv_mr *mr[4];
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(mr); i++) {
		mr[i] = reg_fallback(i % 2 ? &pd2 : &pd);
		assert_non_null(mr[i]);
		assert_ptr_equal(mr[i]->context, i % 2 ? &context2 : &context);
	}
	assert_int_equal(uverbs_regs, 4);
	assert_int_equal(uverbs_probes, 2);
	assert_int_equal(uverbs_wrong_id, FAKE_DRIVER_ID + FAKE_DRIVER_ID2);
	/* MR_DESTROY on each context takes only its own driver's id */
	for (i = 0; i < ARRAY_SIZE(mr); i++)
		assert_int_equal(p2pmr_dereg_mr(mr[i]), 0);
	assert_int_equal(uverbs_destroys, 4);
	assert_int_equal(uverbs_wrong_id, FAKE_DRIVER_ID + FAKE_DRIVER_ID2);
}

/* More contexts than the table holds: the oldest entry goes first. */
static void test_driver_id_replacement(void **state)
{
	struct ibv_context ctxs[9];
	struct ibv_pd pds[ARRAY_SIZE(ctxs)];
	struct ibv_mr *mr;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(ctxs); i++) {
		ctxs[i] = context2;
		pds[i] = pd2;
		pds[i].context = &ctxs[i];
		mr = reg_fallback(&pds[i]);
		assert_non_null(mr);
		assert_int_equal(p2pmr_dereg_mr(mr), 0);
	}
	assert_int_equal(uverbs_probes, ARRAY_SIZE(ctxs));

	/* the latest is still known, the first was replaced */
	mr = reg_fallback(&pds[ARRAY_SIZE(ctxs) - 1]);
	assert_non_null(mr);
	assert_int_equal(p2pmr_dereg_mr(mr), 0);
	assert_int_equal(uverbs_probes, ARRAY_SIZE(ctxs));
	mr = reg_fallback(&pds[0]);
	assert_non_null(mr);
	assert_int_equal(p2pmr_dereg_mr(mr), 0);
	assert_int_equal(uverbs_probes, ARRAY_SIZE(ctxs) + 1);
}

/*
 * p2pmr_reg_mr()
 */

static void test_reg_host(void **state)
{
	static struct ibv_mr host_mr;
	void *addr = (void *)(HEAP + 0x100);

	(void)state;
	expect_value(mock_reg_mr, addr, addr);
	expect_value(mock_reg_mr, length, 0x1000);
	expect_value(mock_reg_mr, access, ACCESS);
	will_return(mock_reg_mr, &host_mr);
	assert_ptr_equal(p2pmr_reg_mr(&pd, addr, 0x1000, (uintptr_t)addr,
				      ACCESS), &host_mr);

	/* another iova: ibv_reg_mr_iova2() */
	expect_value(mock_reg_mr_iova2, addr, addr);
	expect_value(mock_reg_mr_iova2, length, 0x1000);
	expect_value(mock_reg_mr_iova2, iova, 0x10000);
	expect_value(mock_reg_mr_iova2, access, ACCESS);
	will_return(mock_reg_mr_iova2, &host_mr);
	assert_ptr_equal(p2pmr_reg_mr(&pd, addr, 0x1000, 0x10000, ACCESS),
			 &host_mr);

	/* host registrations read /proc/self/maps once, to build the cache */
	assert_int_equal(p2pmr_cache_read_count(), 1);

	errno = 0;
	assert_null(p2pmr_reg_mr(NULL, addr, 0x1000, 0, ACCESS));
	assert_int_equal(errno, EINVAL);
}

static void expect_export(uint64_t addr, uint64_t length, int err)
{
	expect_value(p2pmr_dev_ioctl, cmd->addr, addr);
	expect_value(p2pmr_dev_ioctl, cmd->length, length);
	will_return(p2pmr_dev_ioctl, err);
}

static void assert_exported_fd_closed(void)
{
	assert_true(exported_fd >= 0);
	assert_int_equal(fcntl(exported_fd, F_GETFD), -1);
	assert_int_equal(errno, EBADF);
}

static void test_reg_bar(void **state)
{
	void *addr = (void *)(X + 0x1010);
	struct ibv_mr *mr;

	(void)state;
	/* whole pages around the range are exported by address */
	expect_export(X + 0x1000, 0x3000, 0);
	expect_value(mock_reg_dmabuf_mr, offset, 0x10);
	expect_value(mock_reg_dmabuf_mr, length, 0x2000);
	expect_value(mock_reg_dmabuf_mr, iova, X + 0x1010);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_value(mock_reg_dmabuf_mr, access, ACCESS);
	will_return(mock_reg_dmabuf_mr, &provider_mr);
	mr = p2pmr_reg_mr(&pd, addr, 0x2000, (uintptr_t)addr, ACCESS);
	assert_ptr_equal(mr, &provider_mr);
	/*
	 * an MR of the address asked for, as ibv_reg_mr() gives: not the
	 * dma-buf offset libibverbs put there (peers are sent mr->addr)
	 */
	assert_ptr_equal(mr->addr, addr);
	/* the MR holds the dma-buf: the library's fd is closed */
	assert_exported_fd_closed();

	/* the provider fails: the fd is closed all the same */
	expect_export(X + 0x1000, 0x3000, 0);
	expect_any(mock_reg_dmabuf_mr, offset);
	expect_any(mock_reg_dmabuf_mr, length);
	expect_any(mock_reg_dmabuf_mr, iova);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_any(mock_reg_dmabuf_mr, access);
	will_return(mock_reg_dmabuf_mr, NULL);
	will_return(mock_reg_dmabuf_mr, EREMOTEIO);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, addr, 0x2000, (uintptr_t)addr, ACCESS));
	assert_int_equal(errno, EREMOTEIO);
	assert_exported_fd_closed();

	/* the export fails: its errno, and no registration */
	expect_export(X, 0x1000, EACCES);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)X, 0x1000, X, ACCESS));
	assert_int_equal(errno, EACCES);

	/* BAR registrations cost no read of /proc/self/maps either */
	assert_int_equal(p2pmr_cache_read_count(), 1);
}

/*
 * The cache still names a BAR that is gone, host memory in its place:
 * the kernel refuses the export, a fresh look finds host memory.
 */
static void test_reg_stale_bar(void **state)
{
	static struct ibv_mr host_mr;
	struct p2pmr_mem_info info;
	uint64_t reads;

	(void)state;
	assert_int_equal(p2pmr_classify((void *)X, 1, &info, sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_BAR);
	reads = p2pmr_cache_read_count();

	maps_text = maps_without_bar;
	expect_export(X, 0x1000, EINVAL);
	expect_value(mock_reg_mr, addr, (void *)X);
	expect_value(mock_reg_mr, length, 0x1000);
	expect_value(mock_reg_mr, access, ACCESS);
	will_return(mock_reg_mr, &host_mr);
	assert_ptr_equal(p2pmr_reg_mr(&pd, (void *)X, 0x1000, X, ACCESS),
			 &host_mr);
	assert_int_equal(p2pmr_cache_read_count(), reads + 1);

	/* a BAR mapping the kernel revoked stays a BAR: EFAULT */
	maps_text = maps_with_bar;
	p2pmr_classify_flush();
	expect_export(X, 0x1000, EFAULT);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)X, 0x1000, X, ACCESS));
	assert_int_equal(errno, EFAULT);
}

/* Through rxe: export, then the uverbs fallback, then dereg. */
static void test_reg_bar_uverbs(void **state)
{
	struct ibv_mr *mr;

	(void)state;
	expect_export(X, 0x3000, 0);
	expect_value(mock_reg_dmabuf_mr, offset, 0x10);
	expect_value(mock_reg_dmabuf_mr, length, 0x2000);
	expect_value(mock_reg_dmabuf_mr, iova, X + 0x10);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_value(mock_reg_dmabuf_mr, access, ACCESS);
	will_return(mock_reg_dmabuf_mr, NULL);
	will_return(mock_reg_dmabuf_mr, EOPNOTSUPP);
	mr = p2pmr_reg_mr(&pd, (void *)(X + 0x10), 0x2000, X + 0x10, ACCESS);
	assert_non_null(mr);
	assert_int_equal(uverbs_regs, 1);
	assert_int_equal(mr->lkey, LKEY);
	assert_ptr_equal(mr->addr, (void *)(X + 0x10));
	assert_exported_fd_closed();
	assert_int_equal(p2pmr_dereg_mr(mr), 0);
	assert_int_equal(uverbs_destroys, 1);
}

static void test_reg_partial(void **state)
{
	(void)state;
	/* host memory running into the BAR: refused, nothing registered */
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)(X - 0x1000), 0x2000,
				 X - 0x1000, ACCESS));
	assert_int_equal(errno, EINVAL);
}

/*
 * The registration of the BAR page at X as a dma-buf MR with @access, on
 * whatever fd the library exported: answered with @ret, or NULL and @err.
 */
static void expect_bar_dmabuf(int access, struct ibv_mr *ret, int err)
{
	expect_value(mock_reg_dmabuf_mr, offset, 0);
	expect_value(mock_reg_dmabuf_mr, length, 0x1000);
	expect_value(mock_reg_dmabuf_mr, iova, X);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_value(mock_reg_dmabuf_mr, access, access);
	will_return(mock_reg_dmabuf_mr, ret);
	if (!ret)
		will_return(mock_reg_dmabuf_mr, err);
}

/*
 * The BAR at X, mapped after the cache was built: host registration
 * fails with @err, a fresh look finds the BAR, and it is registered as
 * one.
 */
static void reg_bar_found_after(int err)
{
	maps_text = maps_with_bar;
	expect_value(mock_reg_mr, addr, (void *)X);
	expect_value(mock_reg_mr, length, 0x1000);
	expect_value(mock_reg_mr, access, ACCESS);
	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, err);
	expect_export(X, 0x1000, 0);
	expect_bar_dmabuf(ACCESS, &provider_mr, 0);
	assert_ptr_equal(p2pmr_reg_mr(&pd, (void *)X, 0x1000, X, ACCESS),
			 &provider_mr);
	assert_exported_fd_closed();
}

/*
 * A BAR the application mapped after the cache was built: host
 * registration fails with EFAULT, a fresh look finds the BAR.
 */
static void test_reg_efault_finds_bar(void **state)
{
	static struct ibv_mr host_mr;
	uint64_t reads;

	(void)state;
	maps_text = maps_without_bar;
	expect_any(mock_reg_mr, addr);
	expect_any(mock_reg_mr, length);
	expect_any(mock_reg_mr, access);
	will_return(mock_reg_mr, &host_mr);
	assert_non_null(p2pmr_reg_mr(&pd, (void *)HEAP, 64, HEAP, ACCESS));
	reads = p2pmr_cache_read_count();
	reg_bar_found_after(EFAULT);
	assert_int_equal(p2pmr_cache_read_count(), reads + 1);
}

/*
 * The same with ibv_fork_init() on (UCX turns it on): libibverbs'
 * madvise(MADV_DOFORK) after the kernel's EFAULT fails on the BAR's
 * VM_IO mapping, and EINVAL is what comes back; a fresh look finds the
 * BAR.
 */
static void test_reg_einval_finds_bar(void **state)
{
	struct p2pmr_mem_info info;

	(void)state;
	maps_text = maps_without_bar;
	assert_int_equal(p2pmr_classify((void *)X, 1, &info, sizeof(info)), 0);
	reg_bar_found_after(EINVAL);

	/* EINVAL on host memory stays EINVAL, after that one look */
	expect_any(mock_reg_mr, addr);
	expect_any(mock_reg_mr, length);
	expect_any(mock_reg_mr, access);
	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, EINVAL);
	expect_export(HEAP, 0x1000, EINVAL);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)HEAP, 64, HEAP, ACCESS));
	assert_int_equal(errno, EINVAL);
}

/*
 * A BAR registration asking for remote atomics (UCX asks on every MR)
 * where the HCA refuses them on device memory: refused with EOPNOTSUPP
 * by default, the MR made to find out given back; registered without
 * them only where P2PMR_DROP_REMOTE_ATOMIC=1 asks for that.  Any other
 * refusal stays the caller's to see.
 */
static void test_reg_bar_atomic(void **state)
{
	const int atomic = ACCESS | IBV_ACCESS_REMOTE_ATOMIC;

	(void)state;
	/* the provider's EOPNOTSUPP sends it to uverbs: no method there */
	uverbs_mode = UVERBS_NO_METHOD;
	expect_export(X, 0x1000, 0);
	expect_bar_dmabuf(atomic, NULL, EOPNOTSUPP);
	expect_bar_dmabuf(ACCESS, &provider_mr, 0);
	expect_value(mock_dereg_mr, mr, &provider_mr);
	will_return(mock_dereg_mr, 0);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)X, 0x1000, X, atomic));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_exported_fd_closed();

	/* opted in: registered without */
	setenv("P2PMR_DROP_REMOTE_ATOMIC", "1", 1);
	expect_export(X, 0x1000, 0);
	expect_bar_dmabuf(atomic, NULL, EOPNOTSUPP);
	expect_bar_dmabuf(ACCESS, &provider_mr, 0);
	assert_ptr_equal(p2pmr_reg_mr(&pd, (void *)X, 0x1000, X, atomic),
			 &provider_mr);
	assert_ptr_equal(provider_mr.addr, (void *)X);
	assert_exported_fd_closed();

	/* no dma-buf MRs at all: EOPNOTSUPP, after the one retry */
	expect_export(X, 0x1000, 0);
	expect_bar_dmabuf(atomic, NULL, EOPNOTSUPP);
	expect_bar_dmabuf(ACCESS, NULL, EREMOTEIO);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)X, 0x1000, X, atomic));
	assert_int_equal(errno, EOPNOTSUPP);
	assert_exported_fd_closed();

	/* without atomics asked for, EOPNOTSUPP is final at once */
	expect_export(X, 0x1000, 0);
	expect_bar_dmabuf(ACCESS, NULL, EOPNOTSUPP);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)X, 0x1000, X, ACCESS));
	assert_int_equal(errno, EOPNOTSUPP);
}

/*
 * A BAR mapping whose path /proc/self/maps does not show as a sysfs
 * resource file (bind-mounted into a container): host registration
 * fails with EFAULT, a fresh look finds nothing, and the kernel, asked
 * to export the range, takes it.
 */
static void test_reg_kernel_finds_bar(void **state)
{
	struct ibv_mr *mr;

	(void)state;
	maps_text = maps_without_bar;
	expect_value(mock_reg_mr, addr, (void *)(X + 0x20));
	expect_value(mock_reg_mr, length, 0x100);
	expect_value(mock_reg_mr, access, ACCESS);
	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, EFAULT);
	expect_export(X, 0x1000, 0);
	expect_value(mock_reg_dmabuf_mr, offset, 0x20);
	expect_value(mock_reg_dmabuf_mr, length, 0x100);
	expect_value(mock_reg_dmabuf_mr, iova, X + 0x20);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_value(mock_reg_dmabuf_mr, access, ACCESS);
	will_return(mock_reg_dmabuf_mr, &provider_mr);
	mr = p2pmr_reg_mr(&pd, (void *)(X + 0x20), 0x100, X + 0x20, ACCESS);
	assert_ptr_equal(mr, &provider_mr);
	assert_ptr_equal(mr->addr, (void *)(X + 0x20));
	assert_exported_fd_closed();
}

static struct ibv_mr *closure_reg_host(void *arg)
{
	check_expected(arg);
	errno = mock_type(int);
	return NULL;
}

/*
 * The shim's request (P2PMR_REG_STOCK_ERRNO): where p2pmr cannot export
 * what it took for a BAR mapping, the answer is libibverbs' own, through
 * the caller's verb; a refusal of the registration itself, once
 * exported, stays p2pmr's.
 */
static void test_reg_stock_errno(void **state)
{
	static const int export_errs[] = { ENOENT, EACCES, EBUSY, EPERM };
	struct p2pmr_mem_info info;
	struct p2pmr_reg_req req = {
		.flags = P2PMR_REG_STOCK_ERRNO,
		.reg_host = closure_reg_host,
		.reg_host_arg = &req,
	};
	enum p2pmr_mem_type type;
	size_t i;

	(void)state;
	for (i = 0; i < ARRAY_SIZE(export_errs); i++) {
		expect_export(X, 0x1000, export_errs[i]);
		expect_value(closure_reg_host, arg, &req);
		will_return(closure_reg_host, EFAULT);
		errno = 0;
		assert_null(p2pmr_reg_mr_req(&pd, (void *)X, 0x1000, X, ACCESS,
					     &req, &type));
		assert_int_equal(errno, EFAULT);
		assert_int_equal(type, P2PMR_MEM_HOST);
	}

	/* exported, refused by the HCA's driver: p2pmr's answer */
	expect_export(X, 0x1000, 0);
	expect_bar_dmabuf(ACCESS, NULL, EREMOTEIO);
	errno = 0;
	assert_null(p2pmr_reg_mr_req(&pd, (void *)X, 0x1000, X, ACCESS, &req,
				     &type));
	assert_int_equal(errno, EREMOTEIO);

	/* a range across the BAR's edge: the verbs' answer too */
	expect_value(closure_reg_host, arg, &req);
	will_return(closure_reg_host, EFAULT);
	errno = 0;
	assert_null(p2pmr_reg_mr_req(&pd, (void *)(X - 0x1000), 0x2000,
				     X - 0x1000, ACCESS, &req, &type));
	assert_int_equal(errno, EFAULT);

	/* ... also when only the fresh look finds the edge */
	maps_text = maps_without_bar;
	p2pmr_classify_flush();
	assert_int_equal(p2pmr_classify((void *)X, 1, &info, sizeof(info)), 0);
	assert_int_equal(info.type, P2PMR_MEM_HOST);
	expect_value(closure_reg_host, arg, &req);
	will_return(closure_reg_host, EFAULT);
	maps_text = maps_with_bar;
	errno = 0;
	assert_null(p2pmr_reg_mr_req(&pd, (void *)(X - 0x1000), 0x2000,
				     X - 0x1000, ACCESS, &req, &type));
	assert_int_equal(errno, EFAULT);
}

/* Host memory that now runs into a BAR mapped since: EINVAL. */
static void test_reg_efault_partial(void **state)
{
	struct p2pmr_mem_info info;

	(void)state;
	maps_text = maps_without_bar;
	assert_int_equal(p2pmr_classify((void *)X, 1, &info, sizeof(info)), 0);
	maps_text = maps_with_bar;
	expect_any(mock_reg_mr, addr);
	expect_any(mock_reg_mr, length);
	expect_any(mock_reg_mr, access);
	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, EFAULT);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)(X - 0x1000), 0x2000,
				 X - 0x1000, ACCESS));
	assert_int_equal(errno, EINVAL);
}

/* EFAULT on host memory stays EFAULT, after one look. */
static void test_reg_efault_host(void **state)
{
	uint64_t reads;

	(void)state;
	expect_any_count(mock_reg_mr, addr, 2);
	expect_any_count(mock_reg_mr, length, 2);
	expect_any_count(mock_reg_mr, access, 2);
	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, ENOMEM);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)HEAP, 64, HEAP, ACCESS));
	assert_int_equal(errno, ENOMEM);
	reads = p2pmr_cache_read_count();

	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, EFAULT);
	/* the kernel is asked, and refuses: not a BAR mapping */
	expect_export(HEAP, 0x1000, EINVAL);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)HEAP, 64, HEAP, ACCESS));
	assert_int_equal(errno, EFAULT);
	assert_int_equal(p2pmr_cache_read_count(), reads + 1);
}

static void expect_va_dmabuf(uint64_t addr, uint64_t length, uint32_t flags,
			     int err, uint64_t offset)
{
	va_dmabuf_expected = true;
	expect_value(va_dmabuf_ioctl, cmd->addr, addr);
	expect_value(va_dmabuf_ioctl, cmd->length, length);
	expect_value(va_dmabuf_ioctl, cmd->flags, flags);
	will_return(va_dmabuf_ioctl, err);
	if (!err)
		will_return(va_dmabuf_ioctl, offset);
}

/*
 * Memory the kernel cannot pin, in a CPU mapping of a dma-buf: the
 * kernel names the dma-buf, which is registered at the range's offset in
 * it, with the caller's iova, and without a read of /proc/self/maps.  A
 * device that only reads asks for a read-only mapping to do; a mapping
 * the kernel refuses (read-only for a writable MR) fails with its errno.
 */
static void test_reg_dmabuf_mapping(void **state)
{
	struct ibv_mr *mr;
	uint64_t reads;

	(void)state;
	maps_text = maps_without_bar;
	expect_any_count(mock_reg_mr, addr, 3);
	expect_any_count(mock_reg_mr, length, 3);
	expect_any_count(mock_reg_mr, access, 3);
	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, EFAULT);
	expect_va_dmabuf(HEAP, 0x2000, 0, 0, 0x5000);
	expect_value(mock_reg_dmabuf_mr, offset, 0x5020);
	expect_value(mock_reg_dmabuf_mr, length, 0x1100);
	expect_value(mock_reg_dmabuf_mr, iova, HEAP + 0x20);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_value(mock_reg_dmabuf_mr, access, ACCESS);
	will_return(mock_reg_dmabuf_mr, &provider_mr);
	mr = p2pmr_reg_mr(&pd, (void *)(HEAP + 0x20), 0x1100, HEAP + 0x20,
			  ACCESS);
	assert_ptr_equal(mr, &provider_mr);
	assert_ptr_equal(mr->addr, (void *)(HEAP + 0x20));
	assert_exported_fd_closed();
	reads = p2pmr_cache_read_count();

	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, EFAULT);
	expect_va_dmabuf(HEAP, 0x1000, P2PMR_VA_DMABUF_READ_ONLY, 0, 0);
	expect_value(mock_reg_dmabuf_mr, offset, 0);
	expect_value(mock_reg_dmabuf_mr, length, 0x1000);
	expect_value(mock_reg_dmabuf_mr, iova, HEAP);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_value(mock_reg_dmabuf_mr, access, IBV_ACCESS_REMOTE_READ);
	will_return(mock_reg_dmabuf_mr, &provider_mr);
	assert_ptr_equal(p2pmr_reg_mr(&pd, (void *)HEAP, 0x1000, HEAP,
				      IBV_ACCESS_REMOTE_READ), &provider_mr);

	will_return(mock_reg_mr, NULL);
	will_return(mock_reg_mr, EFAULT);
	expect_va_dmabuf(HEAP, 0x1000, 0, EACCES, 0);
	errno = 0;
	assert_null(p2pmr_reg_mr(&pd, (void *)HEAP, 0x1000, HEAP, ACCESS));
	assert_int_equal(errno, EACCES);
	assert_int_equal(p2pmr_cache_read_count(), reads);
}

/*
 * A range the classification knows as a dma-buf mapping goes to the
 * kernel at once, without a host registration first; one the kernel no
 * longer takes as such (unmapped and replaced) is registered as host
 * memory.
 */
static void test_reg_dmabuf_known(void **state)
{
	static struct ibv_mr host_mr;

	(void)state;
	maps_text = maps_with_dmabuf;
	expect_va_dmabuf(DMABUF_MAP + 0x1000, 0x1000, 0, 0, 0x5000);
	expect_value(mock_reg_dmabuf_mr, offset, 0x5010);
	expect_value(mock_reg_dmabuf_mr, length, 0x100);
	expect_value(mock_reg_dmabuf_mr, iova, DMABUF_MAP + 0x1010);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_value(mock_reg_dmabuf_mr, access, ACCESS);
	will_return(mock_reg_dmabuf_mr, &provider_mr);
	assert_ptr_equal(p2pmr_reg_mr(&pd, (void *)(DMABUF_MAP + 0x1010),
				      0x100, DMABUF_MAP + 0x1010, ACCESS),
			 &provider_mr);
	assert_exported_fd_closed();

	va_dmabuf_expected = false;	/* EINVAL: no dma-buf mapping */
	expect_value(mock_reg_mr, addr, (void *)DMABUF_MAP);
	expect_value(mock_reg_mr, length, 0x100);
	expect_value(mock_reg_mr, access, ACCESS);
	will_return(mock_reg_mr, &host_mr);
	assert_ptr_equal(p2pmr_reg_mr(&pd, (void *)DMABUF_MAP, 0x100,
				      DMABUF_MAP, ACCESS), &host_mr);
}

/* the fd the export just made, not known before */
#define ANY_FD	(-100)

static void expect_check_va(uint64_t addr, uint64_t length, int fd, int err,
			    uint64_t offset)
{
	expect_value(check_va_ioctl, cmd->addr, addr);
	expect_value(check_va_ioctl, cmd->length, length);
	if (fd == ANY_FD)
		expect_any(check_va_ioctl, cmd->dmabuf_fd);
	else
		expect_value(check_va_ioctl, cmd->dmabuf_fd, fd);
	will_return(check_va_ioctl, err);
	if (!err)
		will_return(check_va_ioctl, offset);
}

/* Register 0x2000 bytes at X + @off through the uverbs fallback. */
static struct ibv_mr *reg_at(uint64_t off, uint64_t dmabuf_offset)
{
	expect_value(mock_reg_dmabuf_mr, offset, dmabuf_offset);
	expect_value(mock_reg_dmabuf_mr, length, 0x2000);
	expect_value(mock_reg_dmabuf_mr, iova, X + off);
	expect_any(mock_reg_dmabuf_mr, fd);
	expect_value(mock_reg_dmabuf_mr, access, ACCESS);
	will_return(mock_reg_dmabuf_mr, &provider_mr);
	return p2pmr_reg_mr(&pd, (void *)(uintptr_t)(X + off), 0x2000,
			    X + off, ACCESS);
}

/*
 * One export of the whole mapping serves every registration inside it,
 * each checked by the kernel first; a failed check drops it (its fd is
 * closed) and the range is exported on its own, and the next registration
 * exports the mapping again.
 */
static void test_export_cache(void **state)
{
	int whole;

	(void)state;
	p2pmr_export_cache_set_enabled(1);
	check_va_expected = true;

	expect_export(X, 0x4000000, 0);
	expect_check_va(X + 0x1000, 0x3000, ANY_FD, 0, 0x1000);
	assert_ptr_equal(reg_at(0x1010, 0x1010), &provider_mr);
	whole = exported_fd;
	assert_true(fcntl(whole, F_GETFD) >= 0);
	assert_int_equal(p2pmr_export_cache_count(), 1);

	/* no export: the kernel is asked about the range only */
	expect_check_va(X + 0x8000, 0x3000, whole, 0, 0x8000);
	assert_ptr_equal(reg_at(0x8010, 0x8010), &provider_mr);
	assert_int_equal(exported_fd, whole);

	/* the mapping changed: dropped, and the range exported alone */
	expect_check_va(X + 0x8000, 0x3000, whole, ESTALE, 0);
	expect_export(X + 0x8000, 0x3000, 0);
	assert_ptr_equal(reg_at(0x8010, 0x10), &provider_mr);
	assert_int_equal(fcntl(whole, F_GETFD), -1);
	assert_exported_fd_closed();
	assert_int_equal(p2pmr_export_cache_count(), 0);

	/* and the next registration exports the mapping again */
	expect_export(X, 0x4000000, 0);
	expect_check_va(X + 0x1000, 0x3000, ANY_FD, 0, 0x1000);
	assert_ptr_equal(reg_at(0x1010, 0x1010), &provider_mr);
	assert_int_equal(p2pmr_export_cache_count(), 1);

	/* a flush is the application's way to let go */
	p2pmr_classify_flush();
	assert_int_equal(p2pmr_export_cache_count(), 0);
	assert_exported_fd_closed();
}

/*
 * A mapping the kernel will not export whole costs one failed export, not
 * one per registration, until a flush.
 */
static void test_export_cache_refused(void **state)
{
	(void)state;
	p2pmr_export_cache_set_enabled(1);
	check_va_expected = true;

	expect_export(X, 0x4000000, EBUSY);
	expect_export(X + 0x1000, 0x3000, 0);
	assert_ptr_equal(reg_at(0x1010, 0x10), &provider_mr);
	assert_exported_fd_closed();

	expect_export(X + 0x1000, 0x3000, 0);
	assert_ptr_equal(reg_at(0x1010, 0x10), &provider_mr);
	assert_int_equal(p2pmr_export_cache_count(), 0);

	p2pmr_classify_flush();
	expect_export(X, 0x4000000, 0);
	expect_check_va(X + 0x1000, 0x3000, ANY_FD, 0, 0x1000);
	assert_ptr_equal(reg_at(0x1010, 0x1010), &provider_mr);
	assert_int_equal(p2pmr_export_cache_count(), 1);
	p2pmr_export_cache_set_enabled(0);
}

static void expect_watch(uint64_t addr, uint64_t length, int err,
			 unsigned int slot)
{
	expect_value(watch_va_ioctl, cmd->addr, addr);
	expect_value(watch_va_ioctl, cmd->length, length);
	expect_any(watch_va_ioctl, cmd->dmabuf_fd);
	will_return(watch_va_ioctl, err);
	if (!err)
		will_return(watch_va_ioctl, slot);
}

/*
 * With watches, the mapping is checked once, when it is exported, and
 * later registrations inside it ask nothing while the counter stands (any
 * ioctl not expected fails the test).  A moved counter watches the
 * mapping anew; if that fails, the range alone is checked, and a failed
 * check drops the export (its watch ended).
 */
static void test_export_cache_watched(void **state)
{
	int whole;

	(void)state;
	p2pmr_export_cache_set_enabled(1);
	check_va_expected = true;
	watch_expected = true;

	expect_export(X, 0x4000000, 0);
	expect_watch(X, 0x4000000, 0, 7);
	assert_ptr_equal(reg_at(0x1010, 0x1010), &provider_mr);
	whole = exported_fd;
	assert_non_null(watch_page);

	/* nothing asked: no mock expects a call */
	assert_ptr_equal(reg_at(0x8010, 0x8010), &provider_mr);
	assert_ptr_equal(reg_at(0x3ffc010, 0x3ffc010), &provider_mr);
	assert_int_equal(exported_fd, whole);

	/* the counter moved: watched anew, the registration asks no more */
	watch_page[7]++;
	expect_watch(X, 0x4000000, 0, 9);
	assert_ptr_equal(reg_at(0x8010, 0x8010), &provider_mr);
	assert_int_equal(unwatches, 1);
	assert_ptr_equal(reg_at(0x9010, 0x9010), &provider_mr);

	/* moved, the mapping no longer whole: the range alone is checked */
	watch_page[9]++;
	expect_watch(X, 0x4000000, ESTALE, 0);
	expect_check_va(X + 0x8000, 0x3000, whole, ESTALE, 0);
	expect_export(X + 0x8000, 0x3000, 0);
	assert_ptr_equal(reg_at(0x8010, 0x10), &provider_mr);
	assert_int_equal(fcntl(whole, F_GETFD), -1);
	assert_int_equal(p2pmr_export_cache_count(), 0);
	assert_int_equal(unwatches, 2);
	assert_exported_fd_closed();

	/* a flush ends the watch of a kept export */
	expect_export(X, 0x4000000, 0);
	expect_watch(X, 0x4000000, 0, 3);
	assert_ptr_equal(reg_at(0x1010, 0x1010), &provider_mr);
	p2pmr_classify_flush();
	assert_int_equal(unwatches, 3);
	assert_int_equal(p2pmr_export_cache_count(), 0);
	assert_exported_fd_closed();
	p2pmr_export_cache_set_enabled(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_dmabuf_refused, each),
		cmocka_unit_test_setup(test_dmabuf_probe, each),
		cmocka_unit_test_setup(test_dmabuf_provider, each),
		cmocka_unit_test_setup(test_dmabuf_uverbs_fallback, each),
		cmocka_unit_test_setup(test_dmabuf_eopnotsupp, each),
		cmocka_unit_test_setup(test_dmabuf_dereg_fails, each),
		cmocka_unit_test_setup(test_driver_id_probed_once, each),
		cmocka_unit_test_setup(test_driver_id_stale, each),
		cmocka_unit_test_setup(test_driver_id_two_contexts, each),
		cmocka_unit_test_setup(test_driver_id_replacement, each),
		cmocka_unit_test_setup(test_reg_host, each),
		cmocka_unit_test_setup(test_reg_bar, each),
		cmocka_unit_test_setup(test_reg_bar_uverbs, each),
		cmocka_unit_test_setup(test_reg_partial, each),
		cmocka_unit_test_setup(test_reg_efault_finds_bar, each),
		cmocka_unit_test_setup(test_reg_stale_bar, each),
		cmocka_unit_test_setup(test_reg_efault_partial, each),
		cmocka_unit_test_setup(test_reg_efault_host, each),
		cmocka_unit_test_setup(test_reg_einval_finds_bar, each),
		cmocka_unit_test_setup(test_reg_bar_atomic, each),
		cmocka_unit_test_setup(test_reg_kernel_finds_bar, each),
		cmocka_unit_test_setup(test_reg_stock_errno, each),
		cmocka_unit_test_setup(test_reg_dmabuf_mapping, each),
		cmocka_unit_test_setup(test_reg_dmabuf_known, each),
		cmocka_unit_test_setup(test_export_cache, each),
		cmocka_unit_test_setup(test_export_cache_refused, each),
		cmocka_unit_test_setup(test_export_cache_watched, each),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
