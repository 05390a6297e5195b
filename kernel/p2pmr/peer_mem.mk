# SPDX-License-Identifier: GPL-2.0
#
# Is there a peer-memory API (MLNX_OFED / DOCA-OFED ib_core) to build the
# peer-memory client of p2pmr.ko against?  Sets P2PMR_PEER_MEM_FLAGS and
# P2PMR_PEER_MEM_SYMBOLS when there is, leaves them empty otherwise.
#
# It needs <rdma/peer_mem.h> and the Module.symvers of the modules that
# export ib_register_peer_memory_client():
#
#   P2PMR_PEER_MEM=n              never build the client
#   P2PMR_PEER_MEM_DIR=<dir>      <dir>/include/rdma/peer_mem.h and
#                                 <dir>/Module.symvers (an OFED kernel
#                                 source tree, /usr/src/ofa_kernel/...)
#   P2PMR_PEER_MEM_INCLUDE=<dir>  or name the two separately:
#   P2PMR_PEER_MEM_SYMVERS=<file> <dir>/rdma/peer_mem.h and the file
#
# Without any of them, OFED's usual places are tried:
# /usr/src/ofa_kernel/<arch>/<kernel release>, then
# /usr/src/ofa_kernel/default.

P2PMR_PEER_MEM_FLAGS :=
P2PMR_PEER_MEM_SYMBOLS :=

ifneq ($(P2PMR_PEER_MEM),n)

p2pmr_ofa_dirs := /usr/src/ofa_kernel/$(SRCARCH)/$(KERNELRELEASE) \
		  /usr/src/ofa_kernel/default
p2pmr_peer_dir_ok = $(and $(wildcard $(1)/include/rdma/peer_mem.h),$(wildcard $(1)/Module.symvers))

ifeq ($(P2PMR_PEER_MEM_INCLUDE)$(P2PMR_PEER_MEM_SYMVERS),)
ifeq ($(P2PMR_PEER_MEM_DIR),)
P2PMR_PEER_MEM_DIR := $(firstword $(foreach d,$(p2pmr_ofa_dirs),$(if $(call p2pmr_peer_dir_ok,$(d)),$(d))))
endif
ifneq ($(P2PMR_PEER_MEM_DIR),)
P2PMR_PEER_MEM_INCLUDE := $(P2PMR_PEER_MEM_DIR)/include
P2PMR_PEER_MEM_SYMVERS := $(P2PMR_PEER_MEM_DIR)/Module.symvers
endif
endif

ifneq ($(P2PMR_PEER_MEM_INCLUDE)$(P2PMR_PEER_MEM_SYMVERS),)
ifeq ($(wildcard $(P2PMR_PEER_MEM_INCLUDE)/rdma/peer_mem.h),)
$(error P2PMR_PEER_MEM_INCLUDE: no $(P2PMR_PEER_MEM_INCLUDE)/rdma/peer_mem.h; set P2PMR_PEER_MEM_DIR to the OFED kernel tree, or P2PMR_PEER_MEM=n)
endif
ifeq ($(shell grep -qs 'ib_register_peer_memory_client' $(P2PMR_PEER_MEM_SYMVERS) && echo y),)
$(error P2PMR_PEER_MEM_SYMVERS: $(P2PMR_PEER_MEM_SYMVERS) does not export ib_register_peer_memory_client; set P2PMR_PEER_MEM_DIR to the OFED kernel tree, or P2PMR_PEER_MEM=n)
endif
P2PMR_PEER_MEM_FLAGS := -DCONFIG_P2PMR_PEER_MEM=1 -I$(P2PMR_PEER_MEM_INCLUDE)
P2PMR_PEER_MEM_SYMBOLS := $(P2PMR_PEER_MEM_SYMVERS)
endif

endif
