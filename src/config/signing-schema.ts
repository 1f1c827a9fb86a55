/** The `signing` section of the configuration: how Berth signs what it receives (sign on push). */
import { z } from 'zod';

export const signingSchema = z
  .strictObject({
    referenceHost: z
      .string()
      .regex(/^$|^[A-Za-z0-9.-]+(:[0-9]+)?$/, 'a host or host:port')
      .default('')
      .describe(
        "The registry address (host or host:port, as clients pull from it) named in the signatures Berth makes on push (`critical.identity.docker-reference` = `<referenceHost>/<repository>`). cosign checks only the digest; containers/image policies (`sigstoreSigned`) also match this name. Empty: the repository name alone.",
      ),
  })
  .prefault({})
  .describe('Signatures (sign on push).');
