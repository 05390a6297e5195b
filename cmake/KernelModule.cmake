# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree kernel modules built with Kbuild against the headers of each
# kernel the testbed guest boots (scripts/kernel-version.sh --lines: the
# default kernel, then the newest installed kernel of every other line).
# Kbuild writes its objects next to the sources, so each module gets a
# directory in the build tree holding symlinks to its sources: the source
# tree is never written to.  Kbuild files find the project's headers
# through P2PMR_SRC_ROOT.
#
# Modules for kernel <ver> go to ${CMAKE_BINARY_DIR}/kmod-<ver>/<dir>/;
# ${CMAKE_BINARY_DIR}/kmod is a link to the default kernel's directory.

execute_process(
	COMMAND ${PROJECT_SOURCE_DIR}/scripts/kernel-version.sh --lines
	OUTPUT_VARIABLE kvers_found
	OUTPUT_STRIP_TRAILING_WHITESPACE
	RESULT_VARIABLE kver_result)
if(NOT kver_result EQUAL 0)
	message(FATAL_ERROR "No guest kernel headers; run scripts/install-deps.sh")
endif()
string(REPLACE "\n" ";" kvers_found "${kvers_found}")
# -DP2PMR_KERNELS="<ver>;<ver>..." builds for those instead, the first the
# default.  Found afresh on every configure otherwise: a kernel upgrade
# changes the versions.
if(NOT P2PMR_KERNELS)
	set(P2PMR_KERNELS "${kvers_found}")
endif()
if(NOT P2PMR_KERNELS)
	message(FATAL_ERROR "P2PMR_KERNELS is empty")
endif()
list(GET P2PMR_KERNELS 0 P2PMR_KVER)
# P2PMR_KDIR_<ver>: the kernel build tree to build against, by default
# /lib/modules/<ver>/build; a kernel that is not installed (the testbed's
# debug kernel, tests/kdebug-modules.sh) names its own with
# -DP2PMR_KDIR_<ver>=<tree>.
foreach(kver ${P2PMR_KERNELS})
	if(NOT P2PMR_KDIR_${kver})
		set(P2PMR_KDIR_${kver} /lib/modules/${kver}/build)
	endif()
endforeach()
set(P2PMR_KDIR ${P2PMR_KDIR_${P2PMR_KVER}})

# p2pmr_kernel_line(<out var> <kernel version>): its line, "6.12".
function(p2pmr_kernel_line var kver)
	string(REGEX MATCH "^[0-9]+\\.[0-9]+" line "${kver}")
	set(${var} ${line} PARENT_SCOPE)
endfunction()

# P2PMR_KERNEL_LINE_<ver>: each kernel's line; P2PMR_KMOD_DIR_<ver>: where
# its modules go.
foreach(kver ${P2PMR_KERNELS})
	if(NOT EXISTS ${P2PMR_KDIR_${kver}}/Makefile)
		message(FATAL_ERROR "No ${P2PMR_KDIR_${kver}} for ${kver}")
	endif()
	p2pmr_kernel_line(line ${kver})
	set(P2PMR_KERNEL_LINE_${kver} ${line})
	set(P2PMR_KMOD_DIR_${kver} ${CMAKE_BINARY_DIR}/kmod-${kver})
	message(STATUS "Kernel modules build against ${P2PMR_KDIR_${kver}}")
endforeach()

# kmod -> kmod-<default>: the paths every test and document names.  A
# build tree from before per-kernel directories has a real kmod/: it only
# ever held build output.
set(kmod_link ${CMAKE_BINARY_DIR}/kmod)
if(IS_DIRECTORY ${kmod_link} AND NOT IS_SYMLINK ${kmod_link})
	file(REMOVE_RECURSE ${kmod_link})
endif()
file(MAKE_DIRECTORY ${P2PMR_KMOD_DIR_${P2PMR_KVER}})
file(CREATE_LINK kmod-${P2PMR_KVER} ${kmod_link} SYMBOLIC)

set(kbuild_flags)
if(P2PMR_WERROR)
	list(APPEND kbuild_flags KCFLAGS=-Werror)
endif()

# p2pmr_kmod_target(<out var> <dir> <kernel version>): the target that
# builds module directory <dir> for a kernel: kmod_<dir> for the default
# kernel, kmod_<dir>_k<line> for the others (kmod_p2pmr_k6_12).
function(p2pmr_kmod_target var dir kver)
	if(kver STREQUAL P2PMR_KVER)
		set(${var} kmod_${dir} PARENT_SCOPE)
	else()
		string(REPLACE "." "_" l "${P2PMR_KERNEL_LINE_${kver}}")
		set(${var} kmod_${dir}_k${l} PARENT_SCOPE)
	endif()
endfunction()

# The target kernel_modules builds every module for every kernel and
# nothing else (tests/kdebug-modules.sh).
add_custom_target(kernel_modules)
function(p2pmr_kernel_modules_add target)
	add_dependencies(kernel_modules ${target})
endfunction()

# p2pmr_add_kernel_module(<name> <source dir> [DIR <dir>]
#                         [KERNELS versions...]
#                         [MAKE_ARGS args...] [DEPENDS files...])
# builds <name>.ko into ${CMAKE_BINARY_DIR}/kmod-<ver>/<dir>/ for each
# kernel of KERNELS (default: P2PMR_KERNELS); <dir> defaults to <name>.
# "@KMOD@" in MAKE_ARGS and DEPENDS stands for that kernel's kmod-<ver>.
function(p2pmr_add_kernel_module name srcdir)
	cmake_parse_arguments(KM "" "DIR" "DEPENDS;MAKE_ARGS;KERNELS" ${ARGN})
	if(NOT KM_DIR)
		set(KM_DIR ${name})
	endif()
	if(NOT KM_KERNELS)
		set(KM_KERNELS ${P2PMR_KERNELS})
	endif()
	file(GLOB sources CONFIGURE_DEPENDS
		${srcdir}/*.c ${srcdir}/*.h ${srcdir}/*.mk ${srcdir}/Kbuild)
	foreach(kver ${KM_KERNELS})
		set(kmod ${P2PMR_KMOD_DIR_${kver}})
		set(bdir ${kmod}/${KM_DIR})
		string(REPLACE "@KMOD@" "${kmod}" make_args "${KM_MAKE_ARGS}")
		string(REPLACE "@KMOD@" "${kmod}" depends "${KM_DEPENDS}")
		set(links)
		foreach(src ${sources})
			get_filename_component(base ${src} NAME)
			list(APPEND links COMMAND ${CMAKE_COMMAND} -E
				create_symlink ${src} ${bdir}/${base})
		endforeach()
		add_custom_command(
			OUTPUT ${bdir}/${name}.ko
			COMMAND ${CMAKE_COMMAND} -E make_directory ${bdir}
			${links}
			COMMAND ${CMAKE_COMMAND} -E env --unset=MAKEFLAGS
				--unset=MFLAGS
				make -C ${P2PMR_KDIR_${kver}} M=${bdir}
				P2PMR_SRC_ROOT=${PROJECT_SOURCE_DIR}
				P2PMR_VERSION=${PROJECT_VERSION} ${kbuild_flags}
				${make_args} modules
			DEPENDS ${sources} ${depends}
				${PROJECT_SOURCE_DIR}/CMakeLists.txt
			COMMENT "Building kernel module ${KM_DIR}/${name}.ko for ${kver}"
			VERBATIM)
		p2pmr_kmod_target(target ${KM_DIR} ${kver})
		add_custom_target(${target} ALL DEPENDS ${bdir}/${name}.ko)
		p2pmr_kernel_modules_add(${target})
	endforeach()
endfunction()
