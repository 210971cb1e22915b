#ifndef GUILDHALL_CHIREDIS_SHIM_H
#define GUILDHALL_CHIREDIS_SHIM_H
#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/time.h>
#endif
