/* version.c: owns hpool_version(). */
#ifdef HAVE_CONFIG_H
#include "config.h"
#endif

#include "hpool.h"

#ifndef PACKAGE_VERSION
#define PACKAGE_VERSION	"0.1.0"
#endif

const char *
hpool_version(void)
{
	return PACKAGE_VERSION;
}
