import type { Actor, Auditor } from '../admin/audit.js';
import type { Clock } from '../clock.js';
import { PublicError } from '../errors/codes.js';
import { newId } from '../ids.js';
import type { App, AppStore, Json, Page, PageRequest } from '../store/interface.js';

export interface AppView {
  id: string;
  name: string;
  description: string | null;
  metadata: Json | null;
  createdAt: string;
  updatedAt: string;
}

export function appView(app: App): AppView {
  return {
    id: app.id,
    name: app.name,
    description: app.description,
    metadata: app.metadata,
    createdAt: new Date(app.createdAt).toISOString(),
    updatedAt: new Date(app.updatedAt).toISOString(),
  };
}

/** Applications: each holds its own keys, so usage is tracked and controlled per application. */
export class AppService {
  constructor(
    private readonly apps: AppStore,
    private readonly auditor: Auditor,
    private readonly clock: Clock,
  ) {}

  async create(actor: Actor, input: { name: string; description?: string | undefined; metadata?: Json | undefined }): Promise<AppView> {
    const now = this.clock.now();
    const app: App = {
      id: newId('app', now),
      name: input.name,
      description: input.description ?? null,
      metadata: input.metadata ?? null,
      createdAt: now,
      updatedAt: now,
    };
    await this.apps.insert(app);
    const view = appView(app);
    await this.auditor.record(actor, 'app.create', app.id, null, view);
    return view;
  }

  async list(page: PageRequest): Promise<Page<AppView>> {
    const result = await this.apps.list(page);
    return { items: result.items.map(appView), nextCursor: result.nextCursor };
  }

  async get(id: string): Promise<AppView> {
    return appView(await this.require(id));
  }

  /** The app named by id or, failing that, by exact name; null if neither exists. */
  async resolve(idOrName: string): Promise<App | null> {
    return (await this.apps.get(idOrName)) ?? (await this.apps.findByName(idOrName));
  }

  async update(
    actor: Actor,
    id: string,
    changes: { name?: string | undefined; description?: string | null | undefined; metadata?: Json | null | undefined },
  ): Promise<AppView> {
    const before = await this.require(id);
    const after = await this.apps.update(id, changes, this.clock.now());
    if (!after) throw new PublicError('not_found', `no app with id ${id}`);
    const view = appView(after);
    await this.auditor.record(actor, 'app.update', id, appView(before), view);
    return view;
  }

  private async require(id: string): Promise<App> {
    const app = await this.apps.get(id);
    if (!app) throw new PublicError('not_found', `no app with id ${id}`);
    return app;
  }
}
