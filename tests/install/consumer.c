// SPDX-License-Identifier: GPL-2.0 OR Linux-OpenIB
/*
 * A program built against an installed libp2pmr, as a user builds one:
 * only <p2pmr/...> headers and the flags pkg-config or find_package(p2pmr)
 * give.  tests/install_consumer.sh builds it both ways against a moved
 * installation and runs it.
 *
 *   consumer <expected version>
 *
 * Prints the file the library was loaded from; exits 0 if the library's
 * version is the expected one and one classification of host memory
 * follows the extensible-struct rule.
 */
#define _GNU_SOURCE	/* dladdr() */
#include <dlfcn.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <p2pmr/p2pmr.h>

/* the uapi header came along under p2pmr/ */
#ifndef P2PMR_IOCTL_EXPORT_VA
#error "<p2pmr/p2pmr.h> did not bring in <p2pmr/linux/p2pmr.h>"
#endif

int main(int argc, char **argv)
{
	struct {
		struct p2pmr_mem_info info;
		unsigned char later[32];	/* a later release's fields */
	} buf;
	static char host[4096];
	Dl_info where;
	size_t i;
	int err;

	if (argc != 2) {
		fprintf(stderr, "usage: consumer <expected version>\n");
		return 2;
	}
	if (!dladdr((void *)p2pmr_version, &where) || !where.dli_fname) {
		fprintf(stderr, "consumer: dladdr failed\n");
		return 1;
	}
	printf("library: %s\nversion: %s\nheader: %s\n", where.dli_fname,
	       p2pmr_version(), P2PMR_VERSION_STRING);
	if (strcmp(p2pmr_version(), argv[1]) ||
	    strcmp(P2PMR_VERSION_STRING, argv[1])) {
		fprintf(stderr, "consumer: version is not %s\n", argv[1]);
		return 1;
	}

	memset(&buf, 0xa5, sizeof(buf));
	err = p2pmr_classify(host, sizeof(host), &buf.info, sizeof(buf));
	if (err) {
		fprintf(stderr, "consumer: p2pmr_classify: %s\n",
			strerror(err));
		return 1;
	}
	if (buf.info.type != P2PMR_MEM_HOST || buf.info.comp_mask) {
		fprintf(stderr, "consumer: host memory classified as %d, comp_mask %#llx\n",
			buf.info.type,
			(unsigned long long)buf.info.comp_mask);
		return 1;
	}
	for (i = 0; i < sizeof(buf.later); i++) {
		if (buf.later[i]) {
			fprintf(stderr, "consumer: byte %zu past the struct not zeroed\n",
				i);
			return 1;
		}
	}
	if (p2pmr_classify(host, sizeof(host), &buf.info,
			   P2PMR_MEM_INFO_LEN_V1 - 1) != EINVAL) {
		fprintf(stderr, "consumer: a short struct was not refused\n");
		return 1;
	}
	printf("ok\n");
	return 0;
}
