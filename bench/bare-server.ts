/**
 * The framework's ceiling: a bare Fastify route returning a fixed JSON body, on
 * `BENCH_PORT`. Payreq's routes are measured against it.
 */
import Fastify from 'fastify';

const app = Fastify({ logger: false });
const body = { id: '01890000-0000-7000-8000-000000000000', object: 'payment_request', status: 'pending', amount: '10', currency: 'USD' };
app.get('/ceiling', () => body);
await app.listen({ port: Number(process.env['BENCH_PORT']), host: '127.0.0.1' });
process.once('SIGTERM', () => void app.close().then(() => process.exit(0)));
