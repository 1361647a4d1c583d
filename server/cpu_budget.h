// How many CPUs this process may use: its affinity mask, lowered by a cgroup v2 CPU limit
// (cpu.max, which is how Kubernetes applies a container's CPU limit). Thread-pool sizes start
// from it, so that a pod limited to 2 CPUs on a 64-core node does not run 64 event loops.
// Thread-safe: reads /proc and /sys only.
#pragma once

#include <optional>

#include "absl/strings/string_view.h"

namespace esgw {

// The CPUs a cgroup v2 cpu.max line allows ("<quota> <period>", or "max <period>" for none),
// rounded up: "150000 100000" is 2. nullopt for "max", or for text that is not such a line.
std::optional<int> CpusFromCgroupMax(absl::string_view cpu_max);

// The affinity mask's CPU count (at least 1), lowered by this process's cgroup cpu.max when
// there is one.
int UsableCpus();

}  // namespace esgw
