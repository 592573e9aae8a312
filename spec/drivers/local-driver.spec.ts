import { LocalDriver } from '../../lib';
import { describeDriverConformance } from '../helpers/driver-conformance';

describeDriverConformance({ title: 'LocalDriver on 127.0.0.1', makeDriver: () => new LocalDriver(), address: '127.0.0.1', tickMs: 0 });
describeDriverConformance({ title: 'LocalDriver on ::1', makeDriver: () => new LocalDriver(), address: '::1', tickMs: 0 });
