// Where the ranks of one srun step meet when TUTTI_COMM_ID is not set: every task computes the
// same host:port from the step's environment, so that tuttiCommInitFromEnv under srun (and so
// `srun -n 4 tutti-perf ...`) needs no MPI and no setup.
#pragma once

#include <string>

namespace tutti {

// The first host of a Slurm node list ("node[07-09,12],gpu3" -> "node07"); "" when malformed.
std::string slurmFirstHost(const std::string& nodelist);

// A port in [12000, 32000), below Linux's ephemeral range, from the job and step ids: the
// steps of one job, and jobs with nearby ids, get different ports.
int slurmRendezvousPort(unsigned long jobId, unsigned long stepId);

// host:port for rank 0 of this srun step: the first node of SLURM_STEP_NODELIST (srun's block
// distribution, the default, puts task 0 there) and the port of SLURM_JOB_ID and SLURM_STEP_ID.
// "" with *why set when a variable is missing or malformed.
std::string slurmCommId(std::string* why);

}  // namespace tutti
