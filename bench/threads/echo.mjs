// Next to no work: what the threads bench's overhead part sends round trip.
export default (n) => n + 1;
