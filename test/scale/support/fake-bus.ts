import type { InvalidationBus } from '../../../src/stores.js';
import type { BusListener, Invalidation } from '../../../src/contracts/bus.js';

/**
 * In-process stand-ins for a pub/sub server: buses from one hub deliver to each other, and the
 * test decides when messages arrive (`hold()`/`deliver()`) and when a subscription drops.
 */
export class FakeHub {
  readonly buses = new Set<FakeBus>();
  #held: Array<() => void> | undefined;

  bus(): FakeBus {
    const bus = new FakeBus(this);
    this.buses.add(bus);
    return bus;
  }

  /** Keep messages until `deliver()`. */
  hold(): void {
    this.#held ??= [];
  }

  deliver(): void {
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const send of held) send();
  }

  send(from: FakeBus, message: Invalidation): void {
    for (const bus of this.buses) {
      if (bus === from || !bus.live) continue;
      const send = () => bus.live && bus.listener?.invalidate(message);
      if (this.#held) this.#held.push(send);
      else send();
    }
  }
}

export class FakeBus implements InvalidationBus {
  readonly kind = 'fake';
  live = false;
  listener: BusListener | undefined;
  published: Invalidation[] = [];
  failPublish = false;

  constructor(readonly hub: FakeHub) {}

  listen(listener: BusListener): void {
    this.listener = listener;
  }

  async ready(): Promise<void> {}

  up(): void {
    this.live = true;
    this.listener?.up();
  }

  down(): void {
    this.live = false;
    this.listener?.down('test');
  }

  async publish(message: Invalidation): Promise<void> {
    if (this.failPublish) throw new Error('publish failed (injected)');
    this.published.push(message);
    this.hub.send(this, message);
  }

  async close(): Promise<void> {
    this.live = false;
    this.hub.buses.delete(this);
  }
}
