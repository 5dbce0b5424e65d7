/* Recovery targets moved to the request layer (request/target.h): kept so
 * that the restore engines and their callers need not change includes. */
#include "request/target.h"
