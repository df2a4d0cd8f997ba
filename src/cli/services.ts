/** One-off CLI commands work in-process on the database: the services from the configuration, closed afterwards. */
import { loadConfig } from '../config/load.ts';
import { createServices, type Services } from '../services/container.ts';

export async function withServices<T>(work: (services: Services) => Promise<T>): Promise<T> {
  const services = await createServices(await loadConfig());
  try {
    return await work(services);
  } finally {
    await services.close();
  }
}
