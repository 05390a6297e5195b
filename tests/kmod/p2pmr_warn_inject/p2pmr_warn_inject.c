// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: raises one kernel report of a chosen kind when loaded,
 * so the testbed can prove that a guest whose kernel log shows it fails
 * its run (tests/vm/cases/harness_warning.sh, harness_checkers.sh).
 * Never shipped, never loaded outside those tests.
 *
 *   inject=warn     a WARNING (the default)
 *   inject=lockdep  two mutexes taken in both orders: lockdep's circular
 *                   locking report (no deadlock: one thread)
 *   inject=dma      an unmap of a DMA address never mapped: DMA-API debug
 *   inject=leak     kmalloc'ed objects dropped: kmemleak
 *   inject=kasan    a write one byte past a kmalloc'ed object: KASAN
 *   inject=oops     a read through a NULL pointer: an oops, which the
 *                   testbed's oops=panic turns into the end of the guest
 *
 * The checkers other than kmemleak need their kernel option (the debug
 * kernel, scripts/debug-kernel.sh); elsewhere the module loads and nothing
 * is reported.
 */
#include <linux/bug.h>
#include <linux/dma-mapping.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/slab.h>
#include <linux/string.h>

static char *inject = "warn";
module_param(inject, charp, 0444);
MODULE_PARM_DESC(inject, "what to report: warn, lockdep, dma, leak, kasan, oops");

static DEFINE_MUTEX(inject_lock_a);
static DEFINE_MUTEX(inject_lock_b);

static void inject_lockdep(void)
{
	mutex_lock(&inject_lock_a);
	mutex_lock(&inject_lock_b);
	mutex_unlock(&inject_lock_b);
	mutex_unlock(&inject_lock_a);

	mutex_lock(&inject_lock_b);
	mutex_lock(&inject_lock_a);
	mutex_unlock(&inject_lock_a);
	mutex_unlock(&inject_lock_b);
}

static int inject_dma(void)
{
	struct pci_dev *pdev = pci_get_device(PCI_ANY_ID, PCI_ANY_ID, NULL);

	if (!pdev)
		return -ENODEV;
	dma_unmap_page(&pdev->dev, 0x1000, PAGE_SIZE, DMA_TO_DEVICE);
	pci_dev_put(pdev);
	return 0;
}

static int inject_leak(void)
{
	char *leaked;
	int i;

	/*
	 * Used, then forgotten.  A stale copy of a pointer (a stack slot of
	 * this task, whose stack the kernel may cache and kmemleak scans)
	 * hides the object it points to.  Zeroed: a kmalloc()ed object
	 * keeps SLUB's free pointer to the next free object, so objects
	 * taken one after another form a chain that one stale pointer to
	 * the first hides whole (seen: no report in one run of two).
	 */
	for (i = 0; i < 8; i++) {
		leaked = kzalloc(64, GFP_KERNEL);
		if (!leaked)
			return -ENOMEM;
		WRITE_ONCE(leaked[0], 1);
	}
	return 0;
}

static int inject_kasan(void)
{
	char *obj = kmalloc(16, GFP_KERNEL);
	/* Opaque to the compiler, so the write below is not diagnosed. */
	size_t past_end = strlen(inject) + 11;

	if (!obj)
		return -ENOMEM;
	WRITE_ONCE(obj[past_end], 1);
	kfree(obj);
	return 0;
}

static int inject_oops(void)
{
	/* NULL, but opaque to the compiler, which would emit a trap. */
	int *null = (int *)(uintptr_t)(strlen(inject) - strlen("oops"));

	return READ_ONCE(*null);
}

static int __init p2pmr_warn_inject_init(void)
{
	if (!strcmp(inject, "warn")) {
		WARN(1, "p2pmr_warn_inject: deliberate warning for the harness test\n");
		return 0;
	}
	if (!strcmp(inject, "lockdep")) {
		inject_lockdep();
		return 0;
	}
	if (!strcmp(inject, "dma"))
		return inject_dma();
	if (!strcmp(inject, "leak"))
		return inject_leak();
	if (!strcmp(inject, "kasan"))
		return inject_kasan();
	if (!strcmp(inject, "oops"))
		return inject_oops();
	pr_err("p2pmr_warn_inject: inject=%s: use warn, lockdep, dma, leak, kasan or oops\n",
	       inject);
	return -EINVAL;
}

static void __exit p2pmr_warn_inject_exit(void)
{
}

module_init(p2pmr_warn_inject_init);
module_exit(p2pmr_warn_inject_exit);
MODULE_DESCRIPTION("p2pmr testbed: inject a kernel report");
MODULE_LICENSE("GPL");
