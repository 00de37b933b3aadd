#!/usr/bin/env bash
# A load-curve sweep as a Slurm job array: array task K runs shard K of the sweep.
#
#   sbatch deploy/slurm-sweep.sh
#   # when every task has finished (squeue is empty for the job):
#   lbsim merge results/web-peak/shard-* --out results/web-peak/sweep
#
# The sweep has 50 points (arrival rates 500 to 990 req/s) × the scenario's 6 strategies.
# Task K runs points K, K+16, K+32, ... (`--shard K/16`). Every finished point is written
# to disk at once, and `--resume` keeps them, so a preempted or requeued task
# (`scontrol requeue JOBID_K`) only runs the points it had not finished.
#
# Settings can be changed without editing the file, e.g.
#   sbatch --export=ALL,SCENARIO=my.toml,RESULTS=/scratch/me/run1 deploy/slurm-sweep.sh
# The shard count is the array size: change `--array` alone (0-N-1) to split differently.
#
#SBATCH --job-name=lbsim-sweep
#SBATCH --array=0-15
#SBATCH --cpus-per-task=2
#SBATCH --mem=1G
#SBATCH --time=00:30:00
#SBATCH --output=lbsim-sweep-%A_%a.out
set -euo pipefail

SCENARIO=${SCENARIO:-scenarios/web-peak.toml}
RESULTS=${RESULTS:-results/web-peak}
REQUESTS=${REQUESTS:-1000000}
K=${SLURM_ARRAY_TASK_ID:?submit with sbatch: this is a job-array script}
N=${SLURM_ARRAY_TASK_COUNT:?submit with sbatch: this is a job-array script}

exec lbsim sweep "$SCENARIO" \
    --vary arrivals.rate=500:990:50 \
    --requests "$REQUESTS" \
    --shard "$K/$N" \
    --threads "${SLURM_CPUS_PER_TASK:-2}" \
    --resume \
    --quiet \
    --out "$RESULTS/shard-$K"
