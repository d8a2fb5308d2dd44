/**
 * The zod schemas of what crosses the link, for the server's side: the agent never loads zod (its
 * idle footprint matters), and checks the little it receives by hand (link/protocol.ts).
 */
import { z } from 'zod';

export const portList = z.array(z.number().int().min(1).max(65535)).max(256);

export const agentStateReportSchema = z
  .object({
    version: z.string().max(64),
    services: z
      .object({
        terminal: z.boolean().optional(),
        ssh: z.boolean().optional(),
        codeServer: z.boolean().optional(),
        /** KNOT_CODE_SERVER_PORT, sent while codeServer is true */
        codeServerPort: z.number().int().min(1).max(65535).optional(),
        ports: portList.optional(),
        /** ports that answered HTTP (a HEAD / on 127.0.0.1), plus the declared KNOT_HTTP_PORT ones */
        httpPorts: portList.optional(),
        /** names from KNOT_HTTP_PORT / KNOT_TCP_PORT ("8080=web"), by port */
        portNames: z.record(z.string().regex(/^\d{1,5}$/), z.string().max(64)).optional(),
      })
      .strict(),
    /** open sessions of every kind */
    sessions: z.number().int().min(0).max(100_000),
    /** ms since the epoch of the last user activity (terminal input), null when none yet */
    lastActivity: z.number().int().nonnegative().nullable(),
  })
  .strict();
