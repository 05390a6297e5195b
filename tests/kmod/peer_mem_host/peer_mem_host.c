// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only host of the peer-memory API for the p2pmr testbed.  Never
 * shipped.
 *
 * OFED cannot be installed in the testbed, so this module stands in for
 * the part of OFED's ib_core that peer-memory clients meet: it exports
 * ib_register_peer_memory_client() and ib_unregister_peer_memory_client()
 * with OFED's ABI (<rdma/peer_mem.h>), and calls a client the way OFED's
 * drivers/infiniband/core/peer_mem.c does (OFED 5.x and later):
 *
 * - umem_get (ib_peer_umem_get()): every registered client's acquire()
 *   in registration order until one returns 1; then, under the umem's
 *   mapping_lock, get_pages(addr, size, 1, !writable, NULL, ctx, id)
 *   with id the umem's index in the client's xarray, dma_map() for the
 *   driver's DMA device; trims the first and last entries when the
 *   client's page size is not PAGE_SIZE.  If the client wants
 *   invalidation, mapping_lock stays held until the driver activates
 *   the notifier.
 * - the invalidate callback (ib_invalidate_peer_memory()): finds the
 *   umem by id, takes mapping_lock, calls the driver's notifier if the
 *   umem is mapped, then unmaps it (dma_unmap(), put_pages()) itself,
 *   or, for a struct peer_memory_client_ex with
 *   PEER_MEM_INVALIDATE_UNMAPS, only marks it invalidated and leaves the
 *   unmapping to the client (unless legacy_unmap=1, which plays a core
 *   that ignores the flag).
 * - stop_invalidation_notifier and umem_release: dma_unmap(),
 *   put_pages() if still mapped, then release().
 * - unregistration waits until no umem uses the client.
 *
 * The driver side of that (what OFED's ib_umem_get() and mlx5 do) is in
 * the soft-RoCE patch kernel/rxe-dmabuf/patches/<line>/0003-*.patch, which
 * finds this module's entry points with symbol_get(peer_mem_host_ops).
 *
 * Statistics, as OFED's /sys/kernel/mm/memory_peers/<name>/ has them,
 * are in /sys/kernel/debug/peer_mem_host/clients, one line per client:
 *
 *   client p2pmr version 1.0 invalidate_unmaps 1 num_alloc_mrs 1
 *	num_dealloc_mrs 1 num_reg_pages 1 num_dereg_pages 1
 *	num_reg_bytes 65536 num_dereg_bytes 65536 num_free_callbacks 0
 *	live_umems 0                                   (one line)
 *
 * For tests, /sys/kernel/debug/peer_mem_host/ctl takes, one per write():
 *
 *   get <slot> <addr> <length> <dddd:bb:dd.f>
 *		umem_get for that range of the writer's address space,
 *		DMA-mapped for that PCI device, notifier activated
 *   put <slot>	stop the notifier and release the umem
 *   reset	put every slot
 *
 * A write returns the length written or the negative errno of the failed
 * get (what ibv_reg_mr() would have returned).  .../results has one line
 * per slot in use, then one per scatterlist entry, in the format of
 * p2pmr_test_importer:
 *
 *   slot 0 dev 0000:01:02.0 invalidated 0 nents 1
 *   slot 0 sg 0 dma 0x00000000fe000000 len 0x10000
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/debugfs.h>
#include <linux/kref.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/refcount.h>
#include <linux/scatterlist.h>
#include <linux/seq_file.h>
#include <linux/slab.h>
#include <linux/uaccess.h>
#include <linux/xarray.h>

#include <rdma/peer_mem.h>
#include <rdma/peer_mem_host.h>

static bool legacy_unmap;
module_param(legacy_unmap, bool, 0444);
MODULE_PARM_DESC(legacy_unmap,
		 "Unmap from within the invalidate callback even for clients with PEER_MEM_INVALIDATE_UNMAPS, as cores that ignore the flag do (default: N)");

#define PEER_NO_INVALIDATION_ID	U32_MAX
#define PMH_SLOTS		16
#define PMH_CMD_LEN		128

struct pmh_stats {
	atomic64_t num_alloc_mrs;
	atomic64_t num_dealloc_mrs;
	atomic64_t num_reg_pages;
	atomic64_t num_dereg_pages;
	atomic64_t num_reg_bytes;
	atomic64_t num_dereg_bytes;
	atomic64_t num_free_callbacks;
};

/**
 * struct pmh_client - a registered client (OFED: ib_peer_memory_client)
 * @peer_mem: the client's operations
 * @node: entry in pmh_clients, under pmh_clients_lock
 * @usecnt: one for the registration, one per umem
 * @usecnt_zero: completed when @usecnt drops to zero
 * @invalidation_required: registered with an invalidate callback
 * @umem_xa: umems by the id passed to get_pages(), for the callback
 * @xa_cyclic_next: next id
 * @stats: as OFED's sysfs statistics
 * @live_umems: umems not yet released
 */
struct pmh_client {
	const struct peer_memory_client *peer_mem;
	struct list_head node;
	refcount_t usecnt;
	struct completion usecnt_zero;
	bool invalidation_required;
	struct xarray umem_xa;
	u32 xa_cyclic_next;
	struct pmh_stats stats;
	atomic_t live_umems;
};

enum pmh_mapped_state {
	PMH_UMEM_UNMAPPED,
	PMH_UMEM_MAPPED,
	PMH_UMEM_INVALIDATED,
};

/**
 * struct pmh_umem - OFED's ib_umem_peer
 * @umem: what the driver sees
 * @kref: the driver's reference and the invalidate callback's
 * @mapping_lock: orders mapping, invalidation and unmapping
 * @mapped_state: enum pmh_mapped_state, under @mapping_lock
 * @client: the client that acquired the range
 * @client_context: its acquire() context
 * @xa_id: id in the client's xarray, or PEER_NO_INVALIDATION_ID
 * @invalidation_func: the driver's notifier, once activated
 * @invalidation_private: its argument
 * @first_sg, @first_dma_address, @first_dma_length, @last_sg,
 * @last_dma_length: the entries trimmed for a client page size larger
 *	than PAGE_SIZE, and what they held
 */
struct pmh_umem {
	struct peer_mem_umem umem;
	struct kref kref;
	struct mutex mapping_lock;
	enum pmh_mapped_state mapped_state;
	struct pmh_client *client;
	void *client_context;
	u32 xa_id;
	peer_mem_umem_invalidate_fn invalidation_func;
	void *invalidation_private;
	struct scatterlist *first_sg;
	dma_addr_t first_dma_address;
	unsigned int first_dma_length;
	struct scatterlist *last_sg;
	unsigned int last_dma_length;
};

static DEFINE_MUTEX(pmh_clients_lock);
static LIST_HEAD(pmh_clients);

static int pmh_invalidate(void *reg_handle, u64 core_context);

static int pmh_check_mandatory(const struct peer_memory_client *c)
{
	if (c->acquire && c->get_pages && c->put_pages && c->dma_map &&
	    c->dma_unmap)
		return 0;
	pr_err("peer memory client %s lacks a mandatory operation\n", c->name);
	return -EINVAL;
}

void *
ib_register_peer_memory_client(const struct peer_memory_client *peer_client,
			       invalidate_peer_memory *invalidate_callback)
{
	struct pmh_client *client;

	if (pmh_check_mandatory(peer_client))
		return NULL;
	client = kzalloc(sizeof(*client), GFP_KERNEL);
	if (!client)
		return NULL;
	client->peer_mem = peer_client;
	refcount_set(&client->usecnt, 1);
	init_completion(&client->usecnt_zero);
	xa_init_flags(&client->umem_xa, XA_FLAGS_ALLOC);
	if (invalidate_callback) {
		*invalidate_callback = pmh_invalidate;
		client->invalidation_required = true;
	}

	mutex_lock(&pmh_clients_lock);
	list_add_tail(&client->node, &pmh_clients);
	mutex_unlock(&pmh_clients_lock);
	pr_info("peer memory client %s %s registered\n", peer_client->name,
		peer_client->version);
	return client;
}
EXPORT_SYMBOL(ib_register_peer_memory_client);

void ib_unregister_peer_memory_client(void *reg_handle)
{
	struct pmh_client *client = reg_handle;

	mutex_lock(&pmh_clients_lock);
	list_del(&client->node);
	mutex_unlock(&pmh_clients_lock);

	/* Once this returns no umem calls the client any more. */
	if (refcount_dec_and_test(&client->usecnt))
		complete(&client->usecnt_zero);
	wait_for_completion(&client->usecnt_zero);
	xa_destroy(&client->umem_xa);
	pr_info("peer memory client %s unregistered\n",
		client->peer_mem->name);
	kfree(client);
}
EXPORT_SYMBOL(ib_unregister_peer_memory_client);

/* OFED's ib_peer_unmap_on_invalidate(): a client_ex with the flag. */
static bool pmh_unmap_on_invalidate(const struct pmh_client *client)
{
	const struct peer_memory_client *peer_mem = client->peer_mem;
	const struct peer_memory_client_ex *ex;

	if (legacy_unmap || !peer_mem->version[IB_PEER_MEMORY_VER_MAX - 1])
		return false;
	ex = container_of(peer_mem, const struct peer_memory_client_ex,
			  client);
	if (ex->ex_size < offsetofend(struct peer_memory_client_ex, flags))
		return false;
	return ex->flags & PEER_MEM_INVALIDATE_UNMAPS;
}

static struct pmh_client *pmh_get_client(unsigned long addr, size_t size,
					 void **client_context)
{
	struct pmh_client *client;

	mutex_lock(&pmh_clients_lock);
	list_for_each_entry(client, &pmh_clients, node) {
		if (client->peer_mem->acquire(addr, size, NULL, NULL,
					      client_context) > 0) {
			refcount_inc(&client->usecnt);
			mutex_unlock(&pmh_clients_lock);
			return client;
		}
	}
	mutex_unlock(&pmh_clients_lock);
	return NULL;
}

static void pmh_put_client(struct pmh_client *client, void *client_context)
{
	if (client->peer_mem->release)
		client->peer_mem->release(client_context);
	if (refcount_dec_and_test(&client->usecnt))
		complete(&client->usecnt_zero);
}

static void pmh_umem_free(struct kref *kref)
{
	struct pmh_umem *p = container_of(kref, struct pmh_umem, kref);

	mutex_destroy(&p->mapping_lock);
	kfree(p);
}

/* OFED's ib_unmap_peer_client(). */
static void pmh_unmap(struct pmh_umem *p, enum pmh_mapped_state cur,
		      enum pmh_mapped_state to)
{
	const struct peer_memory_client *peer_mem = p->client->peer_mem;
	struct pmh_stats *stats = &p->client->stats;

	if (cur == PMH_UMEM_MAPPED) {
		/* Undo the trimming: the client may walk the table. */
		if (p->last_sg)
			sg_dma_len(p->last_sg) = p->last_dma_length;
		if (p->first_sg) {
			sg_dma_address(p->first_sg) = p->first_dma_address;
			sg_dma_len(p->first_sg) = p->first_dma_length;
		}
		if (to == PMH_UMEM_UNMAPPED) {
			peer_mem->dma_unmap(&p->umem.sgt, p->client_context,
					    p->umem.dma_device);
			peer_mem->put_pages(&p->umem.sgt, p->client_context);
		}
		atomic64_add(p->umem.sgt.nents, &stats->num_dereg_pages);
		atomic64_add(p->umem.length, &stats->num_dereg_bytes);
		memset(&p->umem.sgt, 0, sizeof(p->umem.sgt));
		atomic64_inc(&stats->num_dealloc_mrs);
	}
	p->mapped_state = to;
}

static int pmh_invalidate(void *reg_handle, u64 core_context)
{
	struct pmh_client *client = reg_handle;
	struct pmh_umem *p;

	/*
	 * The client need not fence against invalidation during put_pages()
	 * (that would deadlock), so core_context is an id, not a pointer.
	 */
	xa_lock(&client->umem_xa);
	atomic64_inc(&client->stats.num_free_callbacks);
	p = xa_load(&client->umem_xa, core_context);
	if (!p) {
		xa_unlock(&client->umem_xa);
		return 0;
	}
	kref_get(&p->kref);
	xa_unlock(&client->umem_xa);

	mutex_lock(&p->mapping_lock);
	if (p->mapped_state == PMH_UMEM_MAPPED && p->invalidation_func)
		p->invalidation_func(&p->umem, p->invalidation_private);
	pmh_unmap(p, p->mapped_state,
		  pmh_unmap_on_invalidate(client) ? PMH_UMEM_INVALIDATED :
						    PMH_UMEM_UNMAPPED);
	mutex_unlock(&p->mapping_lock);
	kref_put(&p->kref, pmh_umem_free);
	return 0;
}

/* OFED's fix_peer_sgls(): trim to the user's pages. */
static void pmh_fix_sgls(struct pmh_umem *p, unsigned long page_size)
{
	struct scatterlist *sg;
	unsigned long offset, trim;
	unsigned int i, n = p->umem.sgt.nents;

	for_each_sg(p->umem.sgt.sgl, sg, n, i) {
		if (i == 0) {
			p->first_sg = sg;
			p->first_dma_address = sg_dma_address(sg);
			p->first_dma_length = sg_dma_len(sg);
			offset = ALIGN_DOWN(p->umem.address, PAGE_SIZE) -
				 ALIGN_DOWN(p->umem.address, page_size);
			sg_dma_address(sg) += offset;
			sg_dma_len(sg) -= offset;
		}
		if (i == n - 1) {
			p->last_sg = sg;
			p->last_dma_length = sg_dma_len(sg);
			trim = ALIGN(p->umem.address + p->umem.length,
				     page_size) -
			       ALIGN(p->umem.address + p->umem.length,
				     PAGE_SIZE);
			sg_dma_len(sg) -= trim;
		}
	}
}

static struct peer_mem_umem *pmh_umem_get(struct device *dma_device,
					  unsigned long addr, size_t size,
					  bool writable, int pin_err)
{
	const struct peer_memory_client *peer_mem;
	struct pmh_client *client;
	unsigned long page_size;
	void *client_context;
	struct pmh_umem *p;
	int nmap = 0;
	int ret;

	client = pmh_get_client(addr, size, &client_context);
	if (!client)
		return ERR_PTR(pin_err);
	peer_mem = client->peer_mem;

	p = kzalloc(sizeof(*p), GFP_KERNEL);
	if (!p) {
		ret = -ENOMEM;
		goto err_client;
	}
	kref_init(&p->kref);
	mutex_init(&p->mapping_lock);
	p->umem.address = addr;
	p->umem.length = size;
	p->umem.writable = writable;
	p->umem.dma_device = dma_device;
	p->client = client;
	p->client_context = client_context;
	p->xa_id = PEER_NO_INVALIDATION_ID;

	mutex_lock(&p->mapping_lock);
	if (client->invalidation_required) {
		ret = xa_alloc_cyclic(&client->umem_xa, &p->xa_id, p,
				      XA_LIMIT(0, PEER_NO_INVALIDATION_ID - 1),
				      &client->xa_cyclic_next, GFP_KERNEL);
		if (ret < 0)
			goto err_umem;
	}

	/*
	 * Write is always requested, to break CoW; force marks a read-only
	 * MR, which must not fail on read-only memory.
	 */
	ret = peer_mem->get_pages(addr, size, 1, !writable, NULL,
				  client_context, p->xa_id);
	if (ret)
		goto err_xa;

	ret = peer_mem->dma_map(&p->umem.sgt, client_context, dma_device, 0,
				&nmap);
	if (ret)
		goto err_pages;
	p->umem.sgt.nents = nmap;

	page_size = peer_mem->get_page_size ?
		    peer_mem->get_page_size(client_context) : PAGE_SIZE;
	if (page_size != PAGE_SIZE)
		pmh_fix_sgls(p, page_size);

	p->mapped_state = PMH_UMEM_MAPPED;
	atomic64_add(nmap, &client->stats.num_reg_pages);
	atomic64_add(size, &client->stats.num_reg_bytes);
	atomic64_inc(&client->stats.num_alloc_mrs);
	atomic_inc(&client->live_umems);

	/*
	 * With invalidation, mapping_lock stays held until the driver
	 * activates the notifier: an invalidation waits for that.
	 */
	if (p->xa_id == PEER_NO_INVALIDATION_ID)
		mutex_unlock(&p->mapping_lock);
	return &p->umem;

err_pages:
	peer_mem->put_pages(&p->umem.sgt, client_context);
err_xa:
	if (p->xa_id != PEER_NO_INVALIDATION_ID)
		xa_erase(&client->umem_xa, p->xa_id);
err_umem:
	mutex_unlock(&p->mapping_lock);
	kref_put(&p->kref, pmh_umem_free);
err_client:
	pmh_put_client(client, client_context);
	return ERR_PTR(ret);
}

static void pmh_activate(struct peer_mem_umem *umem,
			 peer_mem_umem_invalidate_fn fn, void *priv)
{
	struct pmh_umem *p = container_of(umem, struct pmh_umem, umem);

	if (p->xa_id == PEER_NO_INVALIDATION_ID)
		return;
	p->invalidation_func = fn;
	p->invalidation_private = priv;
	/* Pairs with the lock taken in pmh_umem_get(). */
	mutex_unlock(&p->mapping_lock);
}

static void pmh_stop(struct peer_mem_umem *umem)
{
	struct pmh_umem *p = container_of(umem, struct pmh_umem, umem);
	bool client_unmaps = pmh_unmap_on_invalidate(p->client);
	enum pmh_mapped_state cur;

	/* Not activated: pmh_umem_get() left mapping_lock held. */
	if (p->invalidation_func || p->xa_id == PEER_NO_INVALIDATION_ID)
		mutex_lock(&p->mapping_lock);
	p->invalidation_func = NULL;

	if (!client_unmaps) {
		pmh_unmap(p, p->mapped_state, PMH_UMEM_UNMAPPED);
		mutex_unlock(&p->mapping_lock);
		return;
	}
	/* Block pmh_invalidate(), then unmap outside mapping_lock. */
	cur = p->mapped_state;
	p->mapped_state = PMH_UMEM_UNMAPPED;
	mutex_unlock(&p->mapping_lock);
	pmh_unmap(p, cur, PMH_UMEM_UNMAPPED);
}

static void pmh_release(struct peer_mem_umem *umem)
{
	struct pmh_umem *p = container_of(umem, struct pmh_umem, umem);
	struct pmh_client *client = p->client;

	/* The notifier must have been stopped: OFED warns as well. */
	WARN_ON(p->invalidation_func);
	pmh_unmap(p, p->mapped_state, PMH_UMEM_UNMAPPED);
	if (p->xa_id != PEER_NO_INVALIDATION_ID)
		xa_erase(&client->umem_xa, p->xa_id);
	atomic_dec(&client->live_umems);
	pmh_put_client(client, p->client_context);
	p->client = NULL;
	kref_put(&p->kref, pmh_umem_free);
}

const struct peer_mem_host_ops peer_mem_host_ops = {
	.umem_get = pmh_umem_get,
	.activate_invalidation_notifier = pmh_activate,
	.stop_invalidation_notifier = pmh_stop,
	.umem_release = pmh_release,
};
EXPORT_SYMBOL_GPL(peer_mem_host_ops);

/* --- debugfs: statistics and the test interface ------------------------ */

/**
 * struct pmh_slot - a umem a test holds
 * @umem: the umem, NULL when free
 * @pdev: the device it is mapped for (reference held)
 * @invalidated: notifier calls
 */
struct pmh_slot {
	struct peer_mem_umem *umem;
	struct pci_dev *pdev;
	unsigned int invalidated;
};

static DEFINE_MUTEX(pmh_slots_lock);
static struct pmh_slot pmh_slots[PMH_SLOTS];
static struct dentry *pmh_dir;

static void pmh_slot_invalidate(struct peer_mem_umem *umem, void *priv)
{
	struct pmh_slot *slot = priv;

	/* Under mapping_lock; the slot is not freed before stop. */
	WRITE_ONCE(slot->invalidated, slot->invalidated + 1);
}

static void pmh_slot_put(struct pmh_slot *slot)
{
	if (!slot->umem)
		return;
	pmh_stop(slot->umem);
	pmh_release(slot->umem);
	pci_dev_put(slot->pdev);
	memset(slot, 0, sizeof(*slot));
}

static int pmh_slot_get(struct pmh_slot *slot, unsigned long addr,
			size_t size, const char *bdf)
{
	unsigned int domain, bus, dev, fn;
	struct peer_mem_umem *umem;
	struct pci_dev *pdev;

	if (slot->umem)
		return -EBUSY;
	if (sscanf(bdf, "%x:%x:%x.%x", &domain, &bus, &dev, &fn) != 4)
		return -EINVAL;
	pdev = pci_get_domain_bus_and_slot(domain, bus, PCI_DEVFN(dev, fn));
	if (!pdev)
		return -ENODEV;
	/* As ib_umem_get() would have failed on a PFN mapping. */
	umem = pmh_umem_get(&pdev->dev, addr, size, true, -EFAULT);
	if (IS_ERR(umem)) {
		pci_dev_put(pdev);
		return PTR_ERR(umem);
	}
	slot->umem = umem;
	slot->pdev = pdev;
	slot->invalidated = 0;
	pmh_activate(umem, pmh_slot_invalidate, slot);
	return 0;
}

static ssize_t pmh_ctl_write(struct file *file, const char __user *ubuf,
			     size_t len, loff_t *ppos)
{
	char buf[PMH_CMD_LEN], bdf[32];
	unsigned long addr, size;
	unsigned int id;
	int ret = -EINVAL;

	if (len >= sizeof(buf))
		return -E2BIG;
	if (copy_from_user(buf, ubuf, len))
		return -EFAULT;
	buf[len] = '\0';

	mutex_lock(&pmh_slots_lock);
	if (sscanf(buf, "get %u %lx %lx %31s", &id, &addr, &size, bdf) == 4) {
		if (id < PMH_SLOTS)
			ret = pmh_slot_get(&pmh_slots[id], addr, size, bdf);
	} else if (sscanf(buf, "put %u", &id) == 1) {
		if (id < PMH_SLOTS) {
			pmh_slot_put(&pmh_slots[id]);
			ret = 0;
		}
	} else if (!strncmp(buf, "reset", 5)) {
		for (id = 0; id < PMH_SLOTS; id++)
			pmh_slot_put(&pmh_slots[id]);
		ret = 0;
	}
	mutex_unlock(&pmh_slots_lock);
	return ret ? ret : len;
}

static const struct file_operations pmh_ctl_fops = {
	.owner = THIS_MODULE,
	.write = pmh_ctl_write,
	.llseek = noop_llseek,
};

static int pmh_results_show(struct seq_file *m, void *unused)
{
	struct scatterlist *sg;
	unsigned int id, i;

	mutex_lock(&pmh_slots_lock);
	for (id = 0; id < PMH_SLOTS; id++) {
		struct pmh_slot *slot = &pmh_slots[id];

		if (!slot->umem)
			continue;
		seq_printf(m, "slot %u dev %s invalidated %u nents %u\n", id,
			   pci_name(slot->pdev), READ_ONCE(slot->invalidated),
			   slot->umem->sgt.nents);
		for_each_sg(slot->umem->sgt.sgl, sg, slot->umem->sgt.nents, i)
			seq_printf(m, "slot %u sg %u dma %#018llx len %#x\n",
				   id, i, (u64)sg_dma_address(sg),
				   sg_dma_len(sg));
	}
	mutex_unlock(&pmh_slots_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pmh_results);

static int pmh_clients_show(struct seq_file *m, void *unused)
{
	struct pmh_client *c;

	mutex_lock(&pmh_clients_lock);
	list_for_each_entry(c, &pmh_clients, node) {
		struct pmh_stats *s = &c->stats;

		seq_printf(m, "client %s version %s invalidate_unmaps %d num_alloc_mrs %lld num_dealloc_mrs %lld num_reg_pages %lld num_dereg_pages %lld num_reg_bytes %lld num_dereg_bytes %lld num_free_callbacks %lld live_umems %d\n",
			   c->peer_mem->name, c->peer_mem->version,
			   pmh_unmap_on_invalidate(c),
			   atomic64_read(&s->num_alloc_mrs),
			   atomic64_read(&s->num_dealloc_mrs),
			   atomic64_read(&s->num_reg_pages),
			   atomic64_read(&s->num_dereg_pages),
			   atomic64_read(&s->num_reg_bytes),
			   atomic64_read(&s->num_dereg_bytes),
			   atomic64_read(&s->num_free_callbacks),
			   atomic_read(&c->live_umems));
	}
	mutex_unlock(&pmh_clients_lock);
	return 0;
}
DEFINE_SHOW_ATTRIBUTE(pmh_clients);

static int __init pmh_init(void)
{
	pmh_dir = debugfs_create_dir(KBUILD_MODNAME, NULL);
	debugfs_create_file("ctl", 0200, pmh_dir, NULL, &pmh_ctl_fops);
	debugfs_create_file("results", 0400, pmh_dir, NULL,
			    &pmh_results_fops);
	debugfs_create_file("clients", 0444, pmh_dir, NULL,
			    &pmh_clients_fops);
	return 0;
}

/*
 * Clients hold a reference on this module through their symbols, and
 * drivers with peer umems one through symbol_get(): only the test slots
 * can be left.
 */
static void __exit pmh_exit(void)
{
	unsigned int id;

	debugfs_remove_recursive(pmh_dir);
	mutex_lock(&pmh_slots_lock);
	for (id = 0; id < PMH_SLOTS; id++)
		pmh_slot_put(&pmh_slots[id]);
	mutex_unlock(&pmh_slots_lock);
}

module_init(pmh_init);
module_exit(pmh_exit);

MODULE_DESCRIPTION("Test-only host of the OFED peer-memory API for the p2pmr testbed");
MODULE_LICENSE("GPL");
