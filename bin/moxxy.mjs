#!/usr/bin/env node
// The `moxxy` command as it was first named (service units and scripts written since): bin/moxxy.cjs, which starts
// without node's ES module loader.
import './moxxy.cjs';
