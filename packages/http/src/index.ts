export { acceptRawBodies, createHttpApp, forbidden, listen, problemOf, unauthorized, type HttpAppOptions, type Listening } from './app.js';
export { httpLimitsConfig, type HttpLimits } from './limits.js';
export { HttpProblem, problemType, toProblem, type Problem, type ProblemMapping } from './problem.js';
export { bearerToken, matchesDigest, newToken, TokenTable, tokenDigest } from './tokens.js';
export type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
