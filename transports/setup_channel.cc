#include "transports/setup_channel.h"
