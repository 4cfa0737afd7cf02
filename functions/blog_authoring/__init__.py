"""Blog authoring: members of the authors group create, update and unpublish posts; readers' caches follow."""
