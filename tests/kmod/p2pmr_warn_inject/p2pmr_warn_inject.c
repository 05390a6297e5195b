// SPDX-License-Identifier: GPL-2.0
/*
 * Test-only module: raises one kernel WARNING when loaded, so the testbed
 * can prove that a guest whose kernel log shows a warning fails its run.
 * Never shipped, never loaded outside that test.
 */
#include <linux/bug.h>
#include <linux/module.h>

static int __init p2pmr_warn_inject_init(void)
{
	WARN(1, "p2pmr_warn_inject: deliberate warning for the harness test\n");
	return 0;
}

static void __exit p2pmr_warn_inject_exit(void)
{
}

module_init(p2pmr_warn_inject_init);
module_exit(p2pmr_warn_inject_exit);
MODULE_DESCRIPTION("p2pmr testbed: inject a kernel warning");
MODULE_LICENSE("GPL");
