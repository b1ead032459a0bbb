/** The SDK grows here; for now it re-exports the wire types the server uses. */
export type * from '../libs/contracts/process';
