# SPDX-License-Identifier: GPL-2.0
#
# Kernel API probes for compat.h, shared by every Kbuild file of p2pmr.
#
# Each probe greps the headers of the kernel being built against for a
# declaration and defines P2PMR_HAVE_<feature> when it is there.  Probing
# the headers rather than comparing version numbers keeps the module right
# on distribution kernels that backport interfaces (Debian's 6.1 already
# carries several 6.2+ dma-buf helpers).  compat.h is the only consumer of
# these macros.
#
# The patterns are extended regular expressions kept in variables, so that
# their parentheses never reach make's function-call parser.

p2pmr_hdr = $(srctree)/include/linux/$(1)
p2pmr_probe = $(if $(shell grep -qsE '$(2)' $(call p2pmr_hdr,$(1)) && echo y),-DP2PMR_HAVE_$(3))

p2pmr_re_vm_flags_set := void vm_flags_set\(
p2pmr_re_follow_pfnmap := int follow_pfnmap_start\(
p2pmr_re_follow_pte_vma := int follow_pte\(struct vm_area_struct
p2pmr_re_invalidate := void dma_buf_invalidate_mappings\(
p2pmr_re_import_ns_string := MODULE_INFO\(import_ns, *ns\)
p2pmr_re_kernfs_rcu_parent := struct kernfs_node __rcu[[:space:]]*\*__parent
p2pmr_re_dma_resv_usage := enum dma_resv_usage
p2pmr_re_get_file_active := struct file \*get_file_active\(

P2PMR_COMPAT_FLAGS := \
	$(if $(wildcard $(call p2pmr_hdr,iosys-map.h)),-DP2PMR_HAVE_IOSYS_MAP) \
	$(call p2pmr_probe,mm.h,$(p2pmr_re_vm_flags_set),VM_FLAGS_SET) \
	$(call p2pmr_probe,mm.h,$(p2pmr_re_follow_pfnmap),FOLLOW_PFNMAP) \
	$(call p2pmr_probe,mm.h,$(p2pmr_re_follow_pte_vma),FOLLOW_PTE_VMA) \
	$(call p2pmr_probe,dma-buf.h,$(p2pmr_re_invalidate),DMA_BUF_INVALIDATE_MAPPINGS) \
	$(call p2pmr_probe,module.h,$(p2pmr_re_import_ns_string),IMPORT_NS_STRING) \
	$(call p2pmr_probe,kernfs.h,$(p2pmr_re_kernfs_rcu_parent),KERNFS_RCU_PARENT) \
	$(call p2pmr_probe,dma-resv.h,$(p2pmr_re_dma_resv_usage),DMA_RESV_USAGE) \
	$(call p2pmr_probe,fs.h,$(p2pmr_re_get_file_active),GET_FILE_ACTIVE)
