# SPDX-License-Identifier: GPL-2.0
#
# Out-of-tree kernel modules built with Kbuild against the headers of the
# testbed guest's kernel.  Kbuild writes its objects next to the sources,
# so each module gets a directory in the build tree holding symlinks to its
# sources: the source tree is never written to.  Kbuild files find the
# project's headers through P2PMR_SRC_ROOT.

execute_process(
	COMMAND ${PROJECT_SOURCE_DIR}/scripts/kernel-version.sh
	OUTPUT_VARIABLE P2PMR_KVER
	OUTPUT_STRIP_TRAILING_WHITESPACE
	RESULT_VARIABLE kver_result)
if(NOT kver_result EQUAL 0)
	message(FATAL_ERROR "No guest kernel headers; run scripts/install-deps.sh")
endif()
set(P2PMR_KDIR /lib/modules/${P2PMR_KVER}/build)
message(STATUS "Kernel modules build against ${P2PMR_KDIR}")

set(kbuild_flags)
if(P2PMR_WERROR)
	list(APPEND kbuild_flags KCFLAGS=-Werror)
endif()

# p2pmr_add_kernel_module(<name> <source dir> [DIR <dir>]
#                         [MAKE_ARGS args...] [DEPENDS files...])
# builds <name>.ko into ${CMAKE_BINARY_DIR}/kmod/<dir>/ (<dir> defaults
# to <name>; target kmod_<dir>), passing MAKE_ARGS to Kbuild.
function(p2pmr_add_kernel_module name srcdir)
	cmake_parse_arguments(KM "" "DIR" "DEPENDS;MAKE_ARGS" ${ARGN})
	if(NOT KM_DIR)
		set(KM_DIR ${name})
	endif()
	set(bdir ${CMAKE_BINARY_DIR}/kmod/${KM_DIR})
	file(GLOB sources CONFIGURE_DEPENDS
		${srcdir}/*.c ${srcdir}/*.h ${srcdir}/*.mk ${srcdir}/Kbuild)
	set(links)
	foreach(src ${sources})
		get_filename_component(base ${src} NAME)
		list(APPEND links COMMAND ${CMAKE_COMMAND} -E create_symlink
			${src} ${bdir}/${base})
	endforeach()
	add_custom_command(
		OUTPUT ${bdir}/${name}.ko
		COMMAND ${CMAKE_COMMAND} -E make_directory ${bdir}
		${links}
		COMMAND ${CMAKE_COMMAND} -E env --unset=MAKEFLAGS --unset=MFLAGS
			make -C ${P2PMR_KDIR} M=${bdir}
			P2PMR_SRC_ROOT=${PROJECT_SOURCE_DIR}
			P2PMR_VERSION=${PROJECT_VERSION} ${kbuild_flags}
			${KM_MAKE_ARGS} modules
		DEPENDS ${sources} ${KM_DEPENDS}
			${PROJECT_SOURCE_DIR}/CMakeLists.txt
		COMMENT "Building kernel module ${KM_DIR}/${name}.ko for ${P2PMR_KVER}"
		VERBATIM)
	add_custom_target(kmod_${KM_DIR} ALL DEPENDS ${bdir}/${name}.ko)
endfunction()
