/*
 * cmd_agent: `assay agent`, a probe agent of one region writing to the
 * shared store (cli/cmd_agent.c).
 */
#ifndef ASSAY_CMD_AGENT_H
#define ASSAY_CMD_AGENT_H

/*
 * assay agent --region REGION -c FILE [--db ADDRESS]
 * argv[0] is "agent". Returns the exit status: 0 after a stop (SIGINT,
 * SIGTERM), 2 usage or config error or a database it cannot open or write.
 */
int cmd_agent(int argc, char **argv);

#endif
