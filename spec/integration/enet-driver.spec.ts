import { describeDriverConformance } from '../helpers/driver-conformance';

describeDriverConformance({ title: 'ENetDriver on 127.0.0.1', makeDriver: () => 'enet', address: '127.0.0.1', tickMs: 1 });
describeDriverConformance({ title: 'ENetDriver on ::1', makeDriver: () => 'enet', address: '::1', tickMs: 1 });
