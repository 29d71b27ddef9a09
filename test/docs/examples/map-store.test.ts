import * as vitest from 'vitest';
import { describeStoreConformance } from '../../../src/testing.js';
import { createMapStore } from './map-store.js';

// Every conformance test, each against a fresh store from `makeStore`.
describeStoreConformance(vitest, 'a Map store', { makeStore: createMapStore });
